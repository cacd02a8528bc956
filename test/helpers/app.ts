import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadSettings, type Settings } from '../../src/config/index.js';
import type { AppContext } from '../../src/server/app-context.js';
import { buildApp } from '../../src/server/build-app.js';
import { closeContext, createContext } from '../../src/server/create-context.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { migrateToLatest, type DialectName } from '../../src/storage/index.js';
import { createTestDatabase } from './databases.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly context: AppContext;
  readonly settings: Settings;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The raw log output, for "this secret never appears" assertions. */
  rawLogs(): string;
  close(): Promise<void>;
}

export const TEST_SECRET_KEY = 'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2Nq7Rv3Xy9Ua4Ze8Mw1Ko6Pi5Ls0Dt2Gb';

/**
 * Builds the real app on a fresh database of the given dialect, with settings from `env`
 * (variable names, as in production) on top of test defaults. Logs are captured.
 */
export async function createTestApp(
  options: { dialect?: DialectName; env?: Record<string, string>; routes?: readonly RouteModule[] } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(options.dialect ?? 'sqlite');
  const { settings } = loadSettings({
    env: {
      WARDEN_ENV: 'development',
      WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      WARDEN_DATABASE_URL: database.url,
      WARDEN_LOG_LEVEL: 'info',
      WARDEN_PORT: '0',
      ...options.env,
    },
    envFile: false,
    cwd: new URL('../../', import.meta.url).pathname,
    generateDevSecrets: false,
  });
  let raw = '';
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8');
      raw += text;
      for (const line of text.split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const context = createContext(settings, { logStream });
  let app: FastifyInstance;
  try {
    await migrateToLatest(context.storage);
    app = await buildApp(context, options.routes === undefined ? {} : { routes: options.routes });
    await app.ready();
  } catch (error) {
    // An app that refuses to start (a test of exactly that) leaves no database or connection behind.
    await closeContext(context);
    await database.cleanup();
    throw error;
  }
  return {
    app,
    context,
    settings,
    logs,
    rawLogs: () => raw,
    async close() {
      await app.close();
      await closeContext(context);
      await database.cleanup();
    },
  };
}
