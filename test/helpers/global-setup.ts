import type { TestProject } from 'vitest/node';
import { reachable, TEST_PG_URL, TEST_REDIS_URL } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAvailable: boolean;
    redisAvailable: boolean;
  }
}

/**
 * Checks once whether PostgreSQL and Redis answer. In CI (CI=true) a missing server fails the
 * run; elsewhere the tests that need it skip, with a loud message.
 */
export default async function setup(project: TestProject): Promise<void> {
  const [pgUp, redisUp] = await Promise.all([reachable(TEST_PG_URL, 5432), reachable(TEST_REDIS_URL, 6379)]);
  const missing = [!pgUp ? `PostgreSQL at ${TEST_PG_URL}` : '', !redisUp ? `Redis at ${TEST_REDIS_URL}` : ''].filter(Boolean);
  if (missing.length > 0) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true and these test services do not answer: ${missing.join('; ')}`);
    }
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! SKIPPING tests that need: ${missing.join('; ')}\n!! Start them (see README) — in CI this is a failure.\n${bar}\n`);
  }
  project.provide('postgresAvailable', pgUp);
  project.provide('redisAvailable', redisUp);
}
