// E-mail aliases. Pure rules, no I/O.
//
// An address is kept as typed (its display form) and compared lower-cased whole (the canonical
// value): `Ana.P@Example.COM` and `ana.p@example.com` are one alias. Nothing else is folded — no
// dropping of dots or `+tags`, which mean different mailboxes on most providers. Only ASCII
// addresses are accepted (an internationalised domain is written in its punycode form, `xn--…`).

/** RFC 5321's limit on a forward path; Pix DICT allows 77, we allow what mail servers do. */
export const EMAIL_LENGTH_MAX = 254;
export const EMAIL_LOCAL_LENGTH_MAX = 64;

// The dot-atom of RFC 5322 for the local part (no quoted strings, no comments).
const localPattern = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
// A host name of two labels or more, each 1–63 letters, digits or inner hyphens; the top level is not all digits.
const labelPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface Email {
  /** As typed, without surrounding spaces. */
  display: string;
  /** Lower-cased: what uniqueness and lookups compare. */
  canonical: string;
}

export type EmailResult = { ok: true; email: Email } | { ok: false; reason: string };

export function parseEmail(input: string): EmailResult {
  const display = input.trim();
  const invalid = (reason: string): EmailResult => ({ ok: false, reason });
  if (display.length === 0 || display.length > EMAIL_LENGTH_MAX) return invalid(`An e-mail address has 3 to ${EMAIL_LENGTH_MAX} characters`);
  const at = display.lastIndexOf('@');
  if (at <= 0 || at === display.length - 1) return invalid('An e-mail address looks like name@example.com');
  const local = display.slice(0, at);
  const domain = display.slice(at + 1);
  if (local.length > EMAIL_LOCAL_LENGTH_MAX) return invalid(`The part before "@" has at most ${EMAIL_LOCAL_LENGTH_MAX} characters`);
  if (!localPattern.test(local)) return invalid('The part before "@" has letters, digits and !#$%&\'*+/=?^_`{|}~- with single dots between');
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => labelPattern.test(label)) || /^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return invalid('The part after "@" is a domain name such as example.com');
  }
  return { ok: true, email: { display, canonical: display.toLowerCase() } };
}

/** Whether what a payer typed should be read as an e-mail address (an `@` after the first character). */
export function looksLikeEmail(input: string): boolean {
  return input.indexOf('@', 1) > 0;
}
