import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention for PostgreSQL, Redis and argon2.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: process.env.CI === 'true' ? ['default'] : ['default'],
  },
});
