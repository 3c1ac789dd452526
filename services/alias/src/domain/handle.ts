// Handles: the alias people type to be paid (`@ana.p`). Pure rules, no I/O.
//
// A handle is 3–30 characters of a-z, 0-9, `_` and `.`, not starting or ending with a dot and
// without two dots in a row. Input may carry a leading `@` and any casing: the casing is kept for
// display, comparisons use the lower-cased form (the canonical value).

export const HANDLE_LENGTH_MIN = 3;
export const HANDLE_LENGTH_MAX = 30;

const handlePattern = /^[a-z0-9_.]+$/;

/**
 * Names people could mistake for the wallet itself or its staff, and words with a meaning in URLs
 * or code. Matched after removing `_` and `.`, so `ad_min` and `sup.port` are reserved too.
 */
export const reservedHandles: ReadonlySet<string> = new Set([
  'abuse', 'account', 'accounts', 'admin', 'administrator', 'anonymous', 'api', 'auth', 'billing',
  'compliance', 'everyone', 'fraud', 'help', 'helpdesk', 'info', 'internal', 'legal', 'me',
  'moderator', 'noreply', 'null', 'official', 'operator', 'operators', 'owner', 'payments',
  'postmaster', 'privacy', 'root', 'security', 'service', 'settlement', 'staff', 'support',
  'svc', 'system', 'team', 'undefined', 'verify', 'verified', 'wallet', 'webmaster', 'www',
]);

export interface Handle {
  /** As the person typed it, without the `@`: shown back to them and to payers. */
  display: string;
  /** Lower-cased: what uniqueness and lookups compare. */
  canonical: string;
}

export type HandleResult = { ok: true; handle: Handle } | { ok: false; code: 'validation_failed' | 'handle_reserved'; reason: string };

/** Parses what someone typed as a handle: `@Ana.P` → {display: 'Ana.P', canonical: 'ana.p'}. */
export function parseHandle(input: string): HandleResult {
  const display = input.startsWith('@') ? input.slice(1) : input;
  const canonical = display.toLowerCase();
  const invalid = (reason: string): HandleResult => ({ ok: false, code: 'validation_failed', reason });
  if (canonical.length < HANDLE_LENGTH_MIN || canonical.length > HANDLE_LENGTH_MAX) {
    return invalid(`A handle has ${HANDLE_LENGTH_MIN} to ${HANDLE_LENGTH_MAX} characters`);
  }
  // toLowerCase can map non-ASCII letters onto ASCII ones (the Kelvin sign becomes "k"): test the
  // typed text too, so only plain ASCII handles get through.
  if (!handlePattern.test(canonical) || !/^[A-Za-z0-9_.]+$/.test(display)) {
    return invalid('A handle has only letters a-z, digits, "_" and "."');
  }
  if (canonical.startsWith('.') || canonical.endsWith('.') || canonical.includes('..')) {
    return invalid('A handle does not start or end with "." nor have two dots in a row');
  }
  if (isReservedHandle(canonical)) return { ok: false, code: 'handle_reserved', reason: `"${display}" is reserved` };
  return { ok: true, handle: { display, canonical } };
}

export function isReservedHandle(canonical: string): boolean {
  return reservedHandles.has(canonical.replace(/[_.]/g, ''));
}
