/**
 * Error codes and the two error classes Sluice raises.
 *
 * A `UserError` is a mistake the operator can fix (a bad flag, an unreadable file, a malformed
 * pipeline definition): the CLI prints its message on one line, without a stack trace, and exits
 * non-zero. Per-record problems never throw; they become dead-letter entries carrying one of the
 * record codes below.
 */
export const ErrorCode = {
  // configuration and start-up
  BAD_OPTION: 'BAD_OPTION',
  BAD_URL: 'BAD_URL',
  BAD_DURATION: 'BAD_DURATION',
  BAD_DEFINITION: 'BAD_DEFINITION',
  UNREADABLE_INPUT: 'UNREADABLE_INPUT',
  UNWRITABLE_OUTPUT: 'UNWRITABLE_OUTPUT',
  BAD_CHECKPOINT: 'BAD_CHECKPOINT',
  // per record (dead-letter reasons)
  PARSE_ERROR: 'PARSE_ERROR',
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  MISSING_KEY: 'MISSING_KEY',
  MISSING_TIME: 'MISSING_TIME',
  BAD_TIME: 'BAD_TIME',
  BAD_FIELD: 'BAD_FIELD',
  LOOKUP_FAILED: 'LOOKUP_FAILED',
  PREDICTION_FAILED: 'PREDICTION_FAILED',
  OPERATOR_FAILED: 'OPERATOR_FAILED',
  LATE: 'LATE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A mistake in how Sluice was asked to run; its message is written for the operator. */
export class UserError extends Error {
  override readonly name = 'UserError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for errors whose message is meant for the operator as-is. */
export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** The message of anything thrown, for dead-letter reasons and one-line reports. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
