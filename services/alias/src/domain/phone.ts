// Phone aliases: numbers in international form, stored as E.164 (`+5511987654321`). Pure rules.
//
// The number must start with "+" and its country code: a number without one would be read
// differently depending on where the reader is, and a directory has no "where". Spaces, dashes,
// dots and parentheses are allowed in input and dropped. Validity is checked against the full
// numbering-plan metadata of libphonenumber-js (the `max` set), not just the length.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export const PHONE_INPUT_LENGTH_MAX = 32;

const inputPattern = /^\+[0-9][0-9 ().-]*$/;

export interface Phone {
  /** E.164: the display form and the canonical value at once. */
  e164: string;
  /** ISO 3166 country of the number, when the plan tells it. */
  country: string | undefined;
}

export type PhoneResult = { ok: true; phone: Phone } | { ok: false; reason: string };

export function parsePhone(input: string): PhoneResult {
  const text = input.trim();
  const invalid = (reason: string): PhoneResult => ({ ok: false, reason });
  if (text.length > PHONE_INPUT_LENGTH_MAX || !inputPattern.test(text)) {
    return invalid('A phone number starts with "+" and the country code, e.g. +55 11 98765 4321');
  }
  const parsed = parsePhoneNumberFromString(text);
  if (!parsed || !parsed.isValid()) return invalid('Not a valid phone number for its country code');
  return { ok: true, phone: { e164: parsed.number, country: parsed.country } };
}

/** Whether what a payer typed should be read as a phone number: it starts with "+". */
export function looksLikePhone(input: string): boolean {
  return input.startsWith('+');
}
