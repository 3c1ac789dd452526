// Closed set of problem codes, each with its HTTP status, defined in one place.
// docs/errors.md lists the same codes; test/errors-doc.test.ts keeps the two in sync.
export const problemCodes = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  idempotency_key_missing: { status: 400, title: 'An Idempotency-Key header is required' },
  unauthorized: { status: 401, title: 'A valid access token is required' },
  invalid_grant: { status: 400, title: 'The credentials or refresh token are not valid' },
  invalid_client: { status: 401, title: 'The client credentials are not valid' },
  unsupported_grant_type: { status: 400, title: 'The grant type is not supported' },
  invalid_scope: { status: 400, title: 'The requested scope is not granted to this client' },
  mfa_required: { status: 400, title: 'A second-factor code is required' },
  password_incorrect: { status: 403, title: 'The current password is wrong' },
  totp_already_enabled: { status: 409, title: 'The second factor is already on' },
  totp_not_enrolled: { status: 409, title: 'There is no second factor to confirm or turn off' },
  totp_code_invalid: { status: 422, title: 'The second-factor code is wrong' },
  login_throttled: { status: 429, title: 'Too many failed attempts' },
  forbidden: { status: 403, title: 'The token does not allow this action' },
  not_found: { status: 404, title: 'No such resource' },
  account_not_found: { status: 404, title: 'The account does not exist or is not visible to the caller' },
  transfer_not_found: { status: 404, title: 'The transfer does not exist or is not visible to the caller' },
  alias_not_found: { status: 404, title: 'No alias receives money under that name' },
  user_not_found: { status: 404, title: 'The user does not exist' },
  handle_taken: { status: 409, title: 'The handle is already taken' },
  handle_reserved: { status: 422, title: 'The handle is reserved' },
  alias_taken: { status: 409, title: 'The alias belongs to someone else' },
  alias_already_added: { status: 409, title: 'The caller already has this alias' },
  alias_not_verified: { status: 409, title: 'The alias is waiting for its verification code' },
  alias_not_pending: { status: 409, title: 'The alias is already verified' },
  alias_limit_reached: { status: 422, title: 'The caller already holds the maximum number of aliases' },
  handle_change_limit_reached: { status: 422, title: 'The handle cannot be changed again' },
  handle_not_deletable: { status: 422, title: 'A handle can be changed but not deleted' },
  verification_code_invalid: { status: 422, title: 'The verification code is wrong' },
  verification_code_expired: { status: 422, title: 'The verification code has expired' },
  verification_attempts_exceeded: { status: 422, title: 'The verification code was tried too many times' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with a different request' },
  idempotency_request_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  insufficient_funds: { status: 422, title: 'The source account does not have enough available funds' },
  currency_mismatch: { status: 422, title: 'The currencies of the accounts and the amount do not match' },
  unsupported_currency: { status: 422, title: 'The currency is not supported' },
  amount_too_large: { status: 422, title: 'The amount is above the configured maximum' },
  same_account: { status: 422, title: 'The source and destination accounts are the same' },
  linked_transfer_failed: { status: 422, title: 'Another transfer of this atomic batch was refused, so none was made' },
  account_frozen: { status: 422, title: 'The account is frozen' },
  account_closed: { status: 422, title: 'The account is closed' },
  account_limit_reached: { status: 422, title: 'The owner already holds the maximum number of accounts' },
  account_not_adjustable: { status: 422, title: 'This account type cannot have its limits changed' },
  hold_not_found: { status: 404, title: 'The hold does not exist or is not visible to the caller' },
  hold_not_pending: { status: 409, title: 'The hold was already posted, voided or expired' },
  sequence_not_reached: { status: 409, title: 'The account has not reached the requested sequence' },
  hold_amount_exceeded: { status: 422, title: 'The amount is more than the hold reserves' },
  transfer_not_reversible: { status: 422, title: 'This transfer cannot be reversed' },
  reversal_amount_exceeded: { status: 422, title: 'The reversal would return more than the transfer moved' },
  limit_exceeded: { status: 422, title: 'A spending limit of the account would be exceeded' },
  transfer_denied: { status: 422, title: 'The transfer is not allowed by the fraud rules' },
  balance_alert_not_found: { status: 404, title: 'The balance alert does not exist or is not visible to the caller' },
  balance_alert_limit_reached: { status: 422, title: 'The account already has the maximum number of balance alerts' },
  rate_limited: { status: 429, title: 'Too many requests' },
  dependency_unavailable: { status: 503, title: 'A service this request needs is unavailable' },
  too_many_streams: { status: 503, title: 'No room for another stream here now' },
  upstream_timeout: { status: 504, title: 'A service this request needs did not answer in time' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
} as const;

export type ProblemCode = keyof typeof problemCodes;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  instance?: string;
  [extra: string]: unknown;
}

/** An operating error: expected, returned to the client as application/problem+json. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly extra: Record<string, unknown>;
  /** Sent as Retry-After with a 503 `dependency_unavailable` (1 s unless set). */
  retryAfterSeconds?: number;

  constructor(code: ProblemCode, detail?: string, extra: Record<string, unknown> = {}) {
    super(detail ?? problemCodes[code].title);
    this.code = code;
    this.status = problemCodes[code].status;
    this.extra = extra;
  }

  toBody(instance?: string): ProblemBody {
    return problemBody(this.code, this.message, { ...this.extra, ...(instance ? { instance } : {}) });
  }
}

export function problemBody(code: ProblemCode, detail?: string, extra: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = problemCodes[code];
  return { type: `https://wallet.dev/problems/${code.replaceAll('_', '-')}`, title, status, code, ...(detail ? { detail } : {}), ...extra };
}

export function isProblemCode(value: string): value is ProblemCode {
  return Object.hasOwn(problemCodes, value);
}
