/**
 * Warden's root entry: run the service from code. Each domain has its own subpath
 * (`warden/ratelimit`, `warden/crypto`, …; see package.json `exports`).
 */
export { loadSettings, type LoadedSettings, type Settings } from './config/index.js';
export { startServer, createContext, closeContext, buildApp, pinTickObjectShape, type AppContext, type RunningServer } from './server/index.js';
export { WardenError, ERROR_CODES, type ErrorCode } from './errors/index.js';
