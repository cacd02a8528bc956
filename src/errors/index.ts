export { ERROR_CODES, statusOf, isErrorCode, type ErrorCode } from './error-codes.js';
export {
  WardenError,
  ConfigError,
  ValidationError,
  NotFoundError,
  type ErrorFields,
  type WardenErrorOptions,
} from './warden-error.js';
