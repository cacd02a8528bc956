import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import type { TestApp } from '../helpers/app.js';
import { seedUser } from '../identity/identity-helpers.js';

export interface SeededClient {
  readonly clientId: string;
  readonly secret: string;
  readonly ownerId: string;
}

/** Creates an admin owner and a client with the given scopes, through the services. */
export async function seedClient(t: TestApp, scopes: readonly string[], options: { expiresAt?: number } = {}): Promise<SeededClient> {
  await identityOf(t.context).initialise();
  const owner = await seedUser(t, { isAdmin: true });
  const { client, secret } = await oauthOf(t.context).clients.create(
    { name: 'billing-service', ownerId: owner.id, scopes, expiresAt: options.expiresAt ?? null },
    { actor: 'system' },
  );
  return { clientId: client.client_id, secret, ownerId: owner.id };
}

/** HTTP Basic credentials as RFC 6749 §2.3.1 encodes them. */
export function basic(clientId: string, secret: string): string {
  const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
