import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type Logger } from 'pino';
import { childOf } from './logger-options.js';

const { serializersSym } = pino.symbols;

/**
 * A logger that creates its pino child (which binds, say, the request id) only when a message
 * at an enabled level is written. Fastify otherwise builds a pino child for every request, a
 * few percent of a bare route's throughput even when nothing is logged. Methods live on the
 * prototype so that a request costs one small allocation.
 */
class LazyLogger {
  private created: Logger | undefined;

  /** `bindings` undefined = this wraps `parent` itself (the root), no child is made. */
  constructor(
    private readonly parent: Logger | LazyLogger,
    private readonly bindings: Bindings | undefined,
    private readonly options: ChildLoggerOptions | undefined,
  ) {
    // A child with its own level must answer isLevelEnabled by that level: rare, so made at once.
    if (options?.level !== undefined) this.real();
  }

  /** The pino logger this stands for, created on first need. */
  real(): Logger {
    if (this.created === undefined) {
      const parent = this.parent instanceof LazyLogger ? this.parent.real() : this.parent;
      // childOf: the service logger's onChild checks the bindings as given, not parsed back.
      this.created = this.bindings === undefined ? parent : childOf(parent, this.bindings, this.options);
    }
    return this.created;
  }

  /** Read by Fastify once, at start-up, so that its serializers do not replace the service's. */
  get [serializersSym](): unknown {
    return (this.real() as unknown as Record<symbol, unknown>)[serializersSym];
  }

  get level(): string {
    return (this.created ?? this.parent).level;
  }

  set level(value: string) {
    this.real().level = value;
  }

  isLevelEnabled(level: string): boolean {
    return (this.created ?? this.parent).isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    if (this.isLevelEnabled('fatal')) (this.real().fatal as (...a: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    if (this.isLevelEnabled('error')) (this.real().error as (...a: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    if (this.isLevelEnabled('warn')) (this.real().warn as (...a: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    if (this.isLevelEnabled('info')) (this.real().info as (...a: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    if (this.isLevelEnabled('debug')) (this.real().debug as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    if (this.isLevelEnabled('trace')) (this.real().trace as (...a: unknown[]) => void)(...args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): LazyLogger {
    return new LazyLogger(this, bindings, options);
  }
}

/**
 * Wraps the service's pino logger for Fastify's `loggerInstance`: every child (one per
 * request) is lazy. Fastify's default child factory then applies, which it trusts without
 * re-validating the child's methods on every request as it does for a custom factory.
 */
export function lazyLogger(root: Logger): FastifyBaseLogger {
  return new LazyLogger(root, undefined, undefined) as unknown as FastifyBaseLogger;
}
