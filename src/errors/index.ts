export { ERROR_CODES, statusOf, isErrorCode, type ErrorCode } from './error-codes.js';
export {
  WardenError,
  ConfigError,
  ValidationError,
  NotFoundError,
  KeyLockedError,
  AmbiguousCredentialsError,
  type ErrorFields,
  type WardenErrorOptions,
} from './warden-error.js';
export { messageOf } from './message-of.js';
