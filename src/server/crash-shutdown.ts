import type { RunningServer } from './start-server.js';

/**
 * An error that escapes every handler (an unhandled rejection, an uncaught exception) would end
 * the process on Node's default terms: at once, dropping the audit events and the API-key usage
 * still buffered. This shuts down as SIGTERM does instead (stop accepting, finish in-flight,
 * flush, close), logged at fatal level, then exits 1. A second such error during that shutdown
 * gets Node's default again. Returns a function that removes the handlers.
 */
export function shutDownOnCrash(server: Pick<RunningServer, 'close' | 'context'>, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const onCrash = (error: unknown, origin: string): void => {
    server.context.logger.fatal({ err: error, origin }, 'an error escaped every handler; shutting down after flushing what is buffered');
    server.close().then(
      () => exit(1),
      () => exit(1),
    );
  };
  const onException = (error: Error, origin: string): void => onCrash(error, origin);
  const onRejection = (reason: unknown): void => onCrash(reason, 'unhandledRejection');
  process.once('uncaughtException', onException);
  process.once('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
