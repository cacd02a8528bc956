import { afterEach, beforeEach } from 'vitest';
import { identityOf, type IdentityService } from '../../src/identity/identity-service.js';
import type { AppContext } from '../../src/server/app-context.js';
import { closeContext, createContext } from '../../src/server/create-context.js';
import { createTestApp, type TestApp } from './app.js';
import { createTestRedis, type TestRedis } from './redis.js';

/** Two instances of one deployment: an app, and the identity service of a second context on the same database and Redis. */
export interface TwoInstances {
  readonly first: TestApp;
  readonly second: IdentityService;
  /** The second instance's whole context (its other domains: OAuth clients, API keys…). */
  readonly secondContext: AppContext;
}

/**
 * Sets up two instances sharing PostgreSQL and Redis before each test of the calling suite
 * (use inside describeWithRedis) and closes them after it; read them through the returned object.
 */
export function useTwoInstances(): TwoInstances {
  let redis: TestRedis | undefined;
  let first: TestApp | undefined;
  let secondContext: AppContext | undefined;
  let second: IdentityService | undefined;
  beforeEach(async () => {
    redis = await createTestRedis();
    first = await createTestApp({ dialect: 'postgres', env: { WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix } });
    secondContext = createContext(first.settings, { logStream: { write: () => true } as never });
    second = identityOf(secondContext);
    await second.initialise();
  });
  afterEach(async () => {
    if (secondContext !== undefined) await closeContext(secondContext);
    await first?.close();
    await redis?.cleanup();
  });
  return {
    get first(): TestApp {
      if (first === undefined) throw new Error('useTwoInstances: read the instances inside a test');
      return first;
    },
    get second(): IdentityService {
      if (second === undefined) throw new Error('useTwoInstances: read the instances inside a test');
      return second;
    },
    get secondContext(): AppContext {
      if (secondContext === undefined) throw new Error('useTwoInstances: read the instances inside a test');
      return secondContext;
    },
  };
}
