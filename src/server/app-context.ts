import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Settings } from '../config/index.js';
import type { Storage } from '../storage/index.js';

/**
 * Everything the routes are built from. Created once by the composition root; domain
 * services hang off it so that no module reaches for globals.
 */
export interface AppContext {
  readonly settings: Settings;
  readonly storage: Storage;
  readonly logger: Logger;
  readonly metricsRegistry: Registry;
  /** Present when WARDEN_REDIS_URL is set. */
  readonly redis: Redis | undefined;
  /** Run in reverse order on shutdown after the HTTP server stopped accepting requests. */
  readonly onClose: ((() => Promise<void>) | (() => void))[];
}
