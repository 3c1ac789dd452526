// Refusals in plain words: the API's problem codes (docs/errors.md) as people would say them.
import { digitsOf } from './currencies.ts';
import { formatAmount } from './money.ts';

export interface Problem {
  status: number;
  code: string;
  detail?: string;
  [key: string]: unknown;
}

const words: Record<string, string> = {
  insufficient_funds: 'Not enough money in the account for this.',
  limit_exceeded: 'This is over a limit on your account (per transfer, per day or per month). Try a smaller amount or later.',
  transfer_denied: 'This transfer was stopped by a safety rule. Contact support if you think it is a mistake.',
  account_frozen: 'The account is frozen: no money can move in or out of it for now.',
  account_closed: 'The account is closed.',
  currency_mismatch: "The two accounts are in different currencies; send from an account in the payee's currency.",
  unsupported_currency: 'That currency is not supported.',
  amount_too_large: 'That amount is larger than one transfer may be.',
  same_account: 'You cannot send money to the same account.',
  alias_not_found: 'Nobody receives money at that alias in this currency.',
  account_not_found: 'No such account (or it is not yours to see).',
  transfer_not_found: 'No such transfer.',
  transfer_not_reversible: 'That transfer cannot be reversed.',
  reversal_amount_exceeded: 'That is more than what is left to reverse of this transfer.',
  invalid_grant: 'The handle or password is wrong.',
  invalid_client: 'The client id or secret is wrong.',
  mfa_required: 'Enter the 6-digit code from your authenticator app (or a recovery code).',
  login_throttled: 'Too many failed attempts. Wait a little and try again.',
  password_incorrect: 'The password is wrong.',
  totp_code_invalid: 'That code is wrong or expired. Try the current one.',
  handle_taken: 'That handle is taken. Pick another.',
  handle_reserved: 'That handle is reserved. Pick another.',
  alias_taken: 'Someone already uses that alias.',
  alias_already_added: 'You already added that alias.',
  alias_limit_reached: 'You have as many aliases as allowed. Remove one first.',
  verification_code_invalid: 'That code is wrong. Check the message and try again.',
  verification_code_expired: 'That code has expired. Ask for a new one.',
  verification_attempts_exceeded: 'Too many wrong codes. Ask for a new one.',
  account_limit_reached: 'You have as many accounts as allowed.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  dependency_unavailable: 'A part of the system is unavailable right now. Try again shortly.',
  upstream_timeout: 'The system did not answer in time. Your request may have gone through: check before retrying.',
  idempotency_request_in_progress: 'This request is still being processed. Wait a moment.',
  forbidden: 'You are not allowed to do that.',
  unauthorized: 'Your session has ended. Log in again.',
};

/** One sentence for a refusal; adds what is available for insufficient funds. */
export function explain(problem: Problem, currency?: string): string {
  const base = words[problem.code] ?? problem.detail ?? `The request was refused (${problem.code}).`;
  if (problem.code === 'insufficient_funds' && typeof problem.available === 'string' && currency) {
    return `${base} Available: ${formatAmount(problem.available, digitsOf(currency))} ${currency}.`;
  }
  if (problem.code === 'validation_failed' && problem.detail) return `Please check the form: ${problem.detail}`;
  return base;
}
