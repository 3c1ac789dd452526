// Money in the browser: amounts are bigint counts of the currency's minor unit, parsed from and
// formatted to the decimal text people type and read. Never a float: parsing works on the digits.

export type Parsed = { ok: true; minor: bigint } | { ok: false; reason: string };

/** Largest amount the ledger holds (PostgreSQL bigint). */
export const AMOUNT_MAX = 9_223_372_036_854_775_807n;

/**
 * "10.5" with 2 digits → 1050n. Accepts a dot or a single comma as the decimal mark, spaces and
 * thousands separators are refused rather than guessed. `digits` is the currency's exponent.
 */
export function parseMajor(text: string, digits: number): Parsed {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'Enter an amount.' };
  const normalized = /^[0-9]*,[0-9]*$/.test(trimmed) ? trimmed.replace(',', '.') : trimmed;
  const match = /^([0-9]*)(?:\.([0-9]*))?$/.exec(normalized);
  if (!match) return { ok: false, reason: 'Use digits and at most one decimal point, like 12.50.' };
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (whole === '' && fraction === '') return { ok: false, reason: 'Enter an amount.' };
  if (fraction.length > digits) {
    return { ok: false, reason: digits === 0 ? 'This currency has no decimals.' : `At most ${digits} decimal${digits === 1 ? '' : 's'}.` };
  }
  const minor = BigInt((whole === '' ? '0' : whole) + fraction.padEnd(digits, '0'));
  if (minor === 0n) return { ok: false, reason: 'The amount must be more than zero.' };
  if (minor > AMOUNT_MAX) return { ok: false, reason: 'That amount is too large.' };
  return { ok: true, minor };
}

/** 123456n with 2 digits → "1,234.56"; negatives keep their sign. */
export function formatMinor(minor: bigint, digits: number): string {
  const negative = minor < 0n;
  const text = (negative ? -minor : minor).toString().padStart(digits + 1, '0');
  const whole = digits === 0 ? text : text.slice(0, -digits);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${digits === 0 ? '' : `.${text.slice(-digits)}`}`;
}

/** A minor-unit digit string from the API, formatted; "1050" → "10.50". */
export function formatAmount(minor: string, digits: number): string {
  return formatMinor(BigInt(minor), digits);
}
