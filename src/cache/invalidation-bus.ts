import { EventEmitter } from 'node:events';
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
  close(): Promise<void>;
}

/** The single-instance bus. */
export function createMemoryInvalidationBus(): InvalidationBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(message) {
      emitter.emit(message.topic, message);
    },
    subscribe(topic, handler) {
      emitter.on(topic, handler);
      return () => emitter.off(topic, handler);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/**
 * The multi-instance bus over Redis pub/sub. Uses a duplicate connection for SUBSCRIBE
 * (a subscribed connection cannot run other commands). Local handlers run immediately on
 * publish; the echo from Redis is ignored by instance id.
 */
export function createRedisInvalidationBus(redis: Redis, channel: string, onError?: (error: Error) => void): InvalidationBus {
  const local = createMemoryInvalidationBus();
  const instanceId = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const subscriber = redis.duplicate({ enableAutoPipelining: false, lazyConnect: false });
  subscriber.on('error', (error: Error) => onError?.(error));
  const ready = subscriber.subscribe(channel).catch((error: Error) => onError?.(error));
  subscriber.on('message', (_channel: string, payload: string) => {
    try {
      const parsed = JSON.parse(payload) as InvalidationMessage & { from: string };
      if (parsed.from === instanceId || typeof parsed.topic !== 'string' || typeof parsed.id !== 'string') return;
      void local.publish({ topic: parsed.topic, id: parsed.id });
    } catch {
      // A malformed message is ignored; it cannot make a cache serve anything new.
    }
  });
  return {
    async publish(message) {
      await local.publish(message);
      await redis.publish(channel, JSON.stringify({ ...message, from: instanceId }));
    },
    subscribe: local.subscribe,
    /** Resolves once the subscription is active (for tests). */
    async close() {
      await ready;
      subscriber.disconnect();
      await local.close();
    },
  };
}
