export { ERROR_CODES, statusOf, isErrorCode, type ErrorCode } from './error-codes.js';
export {
  WardenError,
  ConfigError,
  ValidationError,
  NotFoundError,
  KeyLockedError,
  type ErrorFields,
  type WardenErrorOptions,
} from './warden-error.js';
