import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A message saying "drop what you cached about X": a user, a key, a role, a jti. */
export interface InvalidationMessage {
  /** e.g. 'user', 'apikey', 'authz', 'jti' */
  readonly topic: string;
  /** The affected id; '*' = everything under the topic. */
  readonly id: string;
}

export type InvalidationHandler = (message: InvalidationMessage) => void;

/**
 * Tells every instance's in-process caches to forget an entry. In-process delivery is
 * synchronous (the publishing instance is consistent at once); with Redis, other instances
 * hear within one pub/sub round trip.
 */
export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  subscribe(topic: string, handler: InvalidationHandler): () => void;
  /** Resolves true once other instances' messages are being heard, false after `timeoutMs`. */
  whenSubscribed(timeoutMs: number): Promise<boolean>;
  /**
   * False while messages from other instances may be going unheard (the subscription is down
   * or stopped answering); caches then serve only very young answers (see cache-max-age.ts).
   * Absent = always heard.
   */
  isListening?(): boolean;
  close(): Promise<void>;
}

/**
 * Calls every handler of the message's topic, each in its own try: one that throws must not keep
 * the others' caches from forgetting. Handlers live in a plain map, not an EventEmitter, whose
 * topic `error` would throw when nobody listens: a message must never be able to name one.
 */
class TopicHandlers {
  private readonly byTopic = new Map<string, Set<InvalidationHandler>>();

  add(topic: string, handler: InvalidationHandler): () => void {
    let handlers = this.byTopic.get(topic);
    if (handlers === undefined) {
      handlers = new Set();
      this.byTopic.set(topic, handlers);
    }
    handlers.add(handler);
    return () => void this.byTopic.get(topic)?.delete(handler);
  }

  /** Delivers the message; the errors of handlers that threw (none when all went well). */
  deliver(message: InvalidationMessage): unknown[] {
    const errors: unknown[] = [];
    for (const handler of this.byTopic.get(message.topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }

  clear(): void {
    this.byTopic.clear();
  }
}

/** Tells the publisher that local handlers threw (after every handler has run). */
function throwFailures(errors: unknown[], message: InvalidationMessage): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} invalidation handlers of topic ${message.topic} failed`);
}

/** The single-instance bus. */
export function createMemoryInvalidationBus(): InvalidationBus {
  const handlers = new TopicHandlers();
  return {
    async publish(message) {
      throwFailures(handlers.deliver(message), message);
    },
    subscribe(topic, handler) {
      return handlers.add(topic, handler);
    },
    async whenSubscribed() {
      return true;
    },
    isListening() {
      return true;
    },
    async close() {
      handlers.clear();
    },
  };
}

/** Longest topic and id a message from Redis may carry; anything longer is no message of Warden's. */
const MAX_TOPIC_LENGTH = 64;
const MAX_ID_LENGTH = 512;

/** Options of the Redis bus. */
export interface RedisInvalidationBusOptions {
  readonly onError?: (error: Error) => void;
  /** CLIENT SETNAME of the subscriber connection, so operators can tell it apart. */
  readonly connectionName?: string;
  /**
   * How often the subscriber connection is PINGed; a PING unanswered for twice this counts as a
   * lost subscription, which is reconnected. A connection that silently stops
   * delivering (a network partition, a Redis pod gone without a reset) is otherwise noticed
   * only by TCP, minutes later. 0 = no heartbeat. @default 1000
   */
  readonly heartbeatMs?: number;
}

/**
 * The multi-instance bus over Redis pub/sub. Uses a duplicate connection for SUBSCRIBE
 * (a subscribed connection cannot run other commands). Local handlers run immediately on
 * publish; the echo from Redis is ignored by instance id.
 *
 * Pub/sub delivers at most once: whatever is published while the subscriber is disconnected
 * is lost. So every time the subscription becomes active (the first time, and after each
 * reconnect) every local cache is told to drop everything ('*' on each topic), and while it is
 * not active `isListening()` says so, which shortens what the caches may serve.
 */
export function createRedisInvalidationBus(redis: Redis, channel: string, options: RedisInvalidationBusOptions = {}): InvalidationBus {
  const handlers = new TopicHandlers();
  const topics = new Set<string>();
  const instanceId = `${process.pid}-${randomUUID()}`;
  // Re-subscribing is done here, not by ioredis, to know when it has taken effect.
  const subscriber = redis.duplicate({
    enableAutoPipelining: false,
    lazyConnect: false,
    autoResubscribe: false,
    // The heartbeat judges this connection by its own two-second rule; a per-command timeout
    // inherited from the main connection (1 s in createContext) would cut its PING short first.
    commandTimeout: undefined,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  });
  let subscribed = false;
  const waiting = new Set<(result: boolean) => void>();
  subscriber.on('error', (error: Error) => options.onError?.(error));
  subscriber.on('close', () => {
    subscribed = false;
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        subscribed = true;
        for (const topic of topics) reportFailures(handlers.deliver({ topic, id: '*' }));
        for (const settle of waiting) settle(true);
      },
      (error: Error) => options.onError?.(error),
    );
  });
  // A PING unanswered for two heartbeats means the subscription may be missing messages: stop
  // vouching for the caches at once and reconnect (which subscribes and flushes again). Two, not
  // one: Redis can stall for a second (a fork for a snapshot), and a false alarm flushes every cache.
  const heartbeatMs = options.heartbeatMs ?? 1000;
  let pingInFlight = false;
  let replyErrorReported = false;
  // Beats spent connected but not subscribed: a handshake or SUBSCRIBE sent into a partition is
  // never answered, and ioredis would wait on it forever.
  let stalledBeats = 0;
  const heartbeat =
    heartbeatMs <= 0
      ? undefined
      : setInterval(() => {
          if (!subscribed) {
            const waitingForAnswer = subscriber.status === 'connect' || subscriber.status === 'ready';
            stalledBeats = waitingForAnswer ? stalledBeats + 1 : 0;
            if (stalledBeats >= 3) {
              stalledBeats = 0;
              subscriber.disconnect(true);
            }
            return;
          }
          stalledBeats = 0;
          if (pingInFlight) return;
          pingInFlight = true;
          let settled = false;
          const finish = (healthy: boolean): void => {
            if (settled) return;
            settled = true;
            pingInFlight = false;
            clearTimeout(overdue);
            // Already down (a 'close' came first): ioredis is reconnecting by itself.
            if (healthy || !subscribed) return;
            subscribed = false;
            options.onError?.(new Error(`the invalidation subscriber did not answer a PING within ${2 * heartbeatMs} ms; reconnecting`));
            subscriber.disconnect(true);
          };
          // The verdict waits for one poll phase: after the event loop was blocked for a while,
          // timers run before pending I/O, and a PONG already in the socket must count.
          const overdue = setTimeout(() => setImmediate(() => finish(false)), 2 * heartbeatMs);
          overdue.unref();
          subscriber.ping().then(
            () => finish(true),
            (error: Error) => {
              // An error reply (a Redis user without PING rights: NOPERM) still proves the
              // connection delivers; only silence or a dropped connection is a lost subscription.
              if (error.name !== 'ReplyError') return finish(false);
              if (!replyErrorReported) {
                replyErrorReported = true;
                options.onError?.(new Error(`the invalidation subscriber's PING was refused (${error.message.split(' ')[0] ?? 'error'}); grant PING to Warden's Redis user`));
              }
              finish(true);
            },
          );
        }, heartbeatMs);
  heartbeat?.unref();
  // Whoever can PUBLISH on the channel (another app on the same Redis, a leaked credential) can
  // send anything here: a message only ever makes caches forget, never crashes the process.
  subscriber.on('message', (_channel: string, payload: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const { topic, id, from } = parsed as Record<string, unknown>;
    if (from === instanceId || typeof topic !== 'string' || typeof id !== 'string') return;
    if (topic.length > MAX_TOPIC_LENGTH || id.length > MAX_ID_LENGTH) return;
    reportFailures(handlers.deliver({ topic, id }));
  });
  /** A handler that threw on another instance's message has nobody to answer to but the log. */
  function reportFailures(errors: unknown[]): void {
    for (const error of errors) options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }
  return {
    async publish(message) {
      const errors = handlers.deliver(message);
      // Other instances are told whatever a local handler did.
      await redis.publish(channel, JSON.stringify({ ...message, from: instanceId }));
      throwFailures(errors, message);
    },
    subscribe(topic, handler) {
      topics.add(topic);
      return handlers.add(topic, handler);
    },
    whenSubscribed(timeoutMs) {
      if (subscribed) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (result: boolean): void => {
          clearTimeout(timer);
          waiting.delete(done);
          resolve(result);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        waiting.add(done);
      });
    },
    isListening() {
      return subscribed;
    },
    async close() {
      clearInterval(heartbeat);
      for (const settle of waiting) settle(false);
      handlers.clear();
      await closeRedisClient(subscriber, { quit: false });
    },
  };
}

/**
 * Closes an ioredis client without leaving a timer behind. One still connecting (TCP up, its
 * ready check in flight) is waited for, at most its connectTimeout: closed in that phase, the
 * failed ready check makes ioredis disconnect a second time, from a socket already closed,
 * and that arms a 2 s "stream still open" timer that keeps the process alive. A ready client
 * is sent QUIT (pending replies first) unless `quit` is false, and disconnected if no answer
 * comes within 1 s (a Redis gone silent would hold QUIT for ever, and with it the shutdown's
 * flush deadline); any other client is disconnected.
 */
export async function closeRedisClient(client: Redis, options: { readonly quit?: boolean } = {}): Promise<void> {
  if (client.status === 'connect' || client.status === 'connecting') {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('close', done);
        client.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, client.options.connectTimeout ?? 10_000);
      client.once('ready', done);
      client.once('close', done);
      client.once('end', done);
    });
  }
  if (client.status === 'ready' && options.quit !== false) {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      client.quit().then(
        () => true,
        // Lost while quitting: nothing is left to wait for.
        () => false,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1_000))),
    ]);
    clearTimeout(timer);
    if (answered) return;
  }
  client.disconnect();
}
