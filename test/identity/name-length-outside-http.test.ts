import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { identityOfApp, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const system = { actor: 'system', ip: undefined, userAgent: undefined };
const LONG = 'n'.repeat(100_000);

/**
 * A user's name is at most 200 characters wherever it is set: over HTTP (the schema), and by
 * the CLI's users create and import and library callers (UserAdmin), which refuse a longer one
 * with a ValidationError naming the field.
 */
describe('a user name longer than 200 characters outside HTTP', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it("is refused by create (the CLI's users create)", async () => {
    const identity = identityOfApp(t);
    await expect(
      identity.userAdmin.create(
        { email: 'long@example.test', password: STRONG_PASSWORD, name: LONG },
        system,
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it("is refused by importWithHash (the CLI's users import)", async () => {
    const identity = identityOfApp(t);
    const hash = await identity.passwords.hash(STRONG_PASSWORD);
    await expect(
      identity.userAdmin.importWithHash(
        { email: 'imported@example.test', passwordHash: hash, name: LONG },
        system,
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('is refused by update', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t);
    await expect(identity.userAdmin.update(user.id, { name: LONG }, system)).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});
