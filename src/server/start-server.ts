import type { FastifyInstance } from 'fastify';
import { recordConfigLoaded } from '../audit/config-loaded-event.js';
import { devSecretsPath, maskUrlCredentials, type LoadedSettings } from '../config/index.js';
import { bootstrapDevAdmin } from '../identity/dev-bootstrap.js';
import { identityOf } from '../identity/identity-service.js';
import { WardenError } from '../errors/index.js';
import { migrateDatabase, unknownMigrationsWarning, type MigrationOutcome } from '../storage/migrate.js';
import type { AppContext } from './app-context.js';
import { buildApp } from './build-app.js';
import { listenAndLogAddress } from './listen.js';
import { closeContext, createContext, type CreateContextOptions } from './create-context.js';
import { withCheckedDatabase } from './secret-key-check.js';
import { redisEvictionRisk } from './redis-eviction.js';
import { whenRedisReady } from './redis-ready.js';
import { pinTickObjectShape } from './tick-object-shape.js';
import type { RouteModule } from './routes/index.js';

/** How long start-up waits for Redis to connect before listening without it. */
const REDIS_START_WAIT_MS = 5000;

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly context: AppContext;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops accepting connections, lets in-flight requests finish (bounded), then closes everything; rejects when a shutdown hook failed. */
  close(): Promise<void>;
}

export interface StartServerOptions extends CreateContextOptions {
  /** Print the banner here. @default console.log */
  readonly print?: (line: string) => void;
  /** Install SIGTERM/SIGINT handlers. @default true */
  readonly handleSignals?: boolean;
  /** Ends the process once a signal has stopped it (tests observe it instead). @default process.exit */
  readonly exit?: (code: number) => void;
  /** Route modules to mount (tests add their own). @default ROUTE_MODULES */
  readonly routes?: readonly RouteModule[];
}

/** Migrates the database, builds the app, listens and prints where and what was generated. */
export async function startServer(loaded: LoadedSettings, options: StartServerOptions = {}): Promise<RunningServer> {
  // First, before start-up's garbage collections can cost every request a slow path.
  pinTickObjectShape();
  const { settings } = loaded;
  const print = options.print ?? ((line: string) => console.log(line));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  // Signal handlers go in first, before the migrations: without them a SIGTERM or SIGINT during
  // start-up takes Node's default action and kills the process in the middle of a migration.
  // One that arrives during the migrations and the root-secret check lets them finish (or roll
  // back) and then ends the start with exit 0; a later one is honoured as soon as the server is up.
  let running: RunningServer | undefined = undefined;
  let stopSignal: NodeJS.Signals | undefined;
  const stopAndExit = (target: RunningServer): void => {
    target.close().then(
      () => exit(0),
      (error: unknown) => {
        target.context.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    // Until the server is up the stop is only noted (and logged when honoured): before the
    // context exists there is not even a logger.
    if (running === undefined) {
      stopSignal ??= signal;
      return;
    }
    running.context.logger.info({ signal }, 'shutting down');
    stopAndExit(running);
  };
  const removeSignalHandlers = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals !== false) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  let schema: MigrationOutcome | undefined;
  try {
    // Migrated and checked against the root secret before the context exists (see withCheckedDatabase).
    schema =
      settings.secretKey === undefined
        ? undefined
        : await withCheckedDatabase(settings, settings.secretKey, async (_storage, migrations) => migrations, { migrate: true });
  } catch (error) {
    // A failed start must leave SIGTERM/SIGINT to their default action again.
    removeSignalHandlers();
    throw error;
  }
  if (stopSignal !== undefined) {
    const applied = schema === undefined || schema.applied.length === 0 ? 'no migrations were pending' : `migrations applied: ${schema.applied.join(', ')}`;
    removeSignalHandlers();
    try {
      print(`Warden stopped by ${stopSignal} during start-up (${applied}); not listening`);
    } finally {
      // The stop is honoured even when its message reached nobody.
      exit(0);
    }
    // Only reached when `exit` returns (tests): nothing was context.
    throw new WardenError('service_unavailable', `start-up was stopped by ${stopSignal}`);
  }
  const context = createContext(settings, options);
  let app: FastifyInstance | undefined;
  let devAdmin: Awaited<ReturnType<typeof bootstrapDevAdmin>>;
  try {
    schema ??= await migrateDatabase(context.storage);
    if (schema.applied.length > 0) context.logger.info({ migrations: schema.applied }, 'migrations applied');
    if (schema.unknown.length > 0) context.logger.warn({ unknown_migrations: schema.unknown }, unknownMigrationsWarning(schema.unknown));
    // Durable before the server accepts traffic: which configuration this instance runs with.
    await recordConfigLoaded(context.audit, loaded);
    app = await buildApp(context, options.routes === undefined ? {} : { routes: options.routes });
    // Listening before Redis has connected would answer the first requests from a store that is
    // not there yet (503 when fail-closed). An outage at start still starts the service: /readyz
    // says not ready, and the limiter's failure policy decides until Redis comes back.
    if (context.redis !== undefined && !(await whenRedisReady(context.redis, REDIS_START_WAIT_MS))) {
      context.logger.warn({ waited_ms: REDIS_START_WAIT_MS }, 'redis not connected at start; listening anyway');
    } else if (!(await context.invalidation.whenSubscribed(REDIS_START_WAIT_MS))) {
      // Until it is, caches here would not hear of revocations on other instances.
      context.logger.warn({ waited_ms: REDIS_START_WAIT_MS }, 'invalidation bus not subscribed at start; listening anyway');
    }
    const evictionRisk = context.redis?.status === 'ready' ? await redisEvictionRisk(context.redis) : undefined;
    if (evictionRisk !== undefined) context.logger.warn(evictionRisk);
    // Logs the address as a field the log redaction keeps, instead of Fastify's masked text.
    await listenAndLogAddress(app, { host: settings.host, port: settings.port });
    // First run without a UI: a first admin whose password is printed below, once (it stays
    // valid until changed).
    // Made once listening has worked: a start that cannot listen (port in use) must not use up
    // the one printing of the password.
    if (settings.env === 'development') devAdmin = await bootstrapDevAdmin(identityOf(context));
  } catch (error) {
    removeSignalHandlers();
    await app?.close().catch(() => undefined);
    await closeContext(context);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : settings.port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = `http://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const server: RunningServer = {
    app,
    context,
    url,
    close() {
      closing ??= (async () => {
        const timer = setTimeout(() => {
          context.logger.error('graceful shutdown timed out; closing open connections');
          app.server.closeAllConnections();
        }, settings.shutdownTimeoutMs);
        timer.unref();
        let clean = false;
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          clean = await closeContext(context);
        }
        // The process must not report a clean stop when, say, the audit log's last flush was lost.
        if (!clean) throw new WardenError('service_unavailable', 'a shutdown step failed (logged above)');
      })();
      return closing;
    },
  };

  const unknownMigrations = schema.unknown;
  const printBanner = (): void => {
    print(`Warden listening on ${url} (profile ${settings.env})`);
    print(`  database: ${maskUrlCredentials(settings.databaseUrl)}`);
    print(`  rate limits and caches: ${settings.redisUrl === undefined ? 'in memory (single instance)' : maskUrlCredentials(settings.redisUrl)}`);
    for (const name of loaded.generated) {
      print(`  generated ${name} into ${devSecretsPath(settings.dataDir)} (mode 0600; development only, value not shown)`);
    }
    for (const warning of loaded.warnings) print(`  warning: ${warning}`);
    if (unknownMigrations.length > 0) print(`  warning: ${unknownMigrationsWarning(unknownMigrations)}`);
    if (devAdmin !== undefined) {
      // Shown once, but reusable until changed: saying "one-time" would suggest it expires by itself.
      print(`  created first admin ${devAdmin.email} with password ${devAdmin.password} (development only; shown once, not stored in clear)`);
      print('  it stays valid until changed: log in with it, then change it with POST /v1/auth/password');
    }
  };

  // Stoppable before anything is printed: a banner write that throws (a reader of stdout that
  // has gone) must not leave a listening server that no signal can stop.
  running = server;
  try {
    printBanner();
  } catch (error) {
    removeSignalHandlers();
    await server.close().catch(() => undefined);
    throw error;
  }
  if (stopSignal !== undefined) {
    context.logger.info({ signal: stopSignal }, 'shutting down');
    stopAndExit(server);
  }
  return server;
}
