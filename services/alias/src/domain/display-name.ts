// Display names: what a person calls themself, and the masked form a payer sees before paying.

export const DISPLAY_NAME_LENGTH_MAX = 80;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (text: string) => Array.from(segmenter.segment(text), (s) => s.segment);
// Control and format characters (newlines, bidi overrides, zero-width joiners outside emoji…) have
// no place in a name shown to someone deciding whether to send money.
const forbiddenCharacters = /[\p{Cc}\p{Co}\p{Cs}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

export type DisplayNameResult = { ok: true; displayName: string } | { ok: false; reason: string };

/** Trims, folds runs of white space into one space, then checks 1–80 characters. */
export function normalizeDisplayName(input: string): DisplayNameResult {
  if (forbiddenCharacters.test(input.replace(/[\t\n\r]/g, ' '))) return { ok: false, reason: 'A display name has no control characters' };
  const displayName = input.normalize('NFC').trim().replace(/\s+/gu, ' ');
  const length = graphemes(displayName).length;
  if (length < 1) return { ok: false, reason: 'A display name is not empty' };
  if (length > DISPLAY_NAME_LENGTH_MAX) return { ok: false, reason: `A display name has at most ${DISPLAY_NAME_LENGTH_MAX} characters` };
  return { ok: true, displayName };
}

/**
 * What a payer sees: enough to recognise the person, not their full name.
 * - Several words: the first word and the initial of the last one — "Ana Paula Pereira" → "Ana P.".
 * - One word: its first two characters (one when the word has three or fewer) and "***" —
 *   "Madonna" → "Ma***", "Ana" → "A***".
 * Characters are counted as graphemes, so accents and emoji are never cut in half.
 */
export function maskDisplayName(displayName: string): string {
  const words = displayName.trim().split(/\s+/u).filter(Boolean);
  const first = words[0];
  if (first === undefined) return '***';
  if (words.length === 1) {
    const letters = graphemes(first);
    return `${letters.slice(0, letters.length <= 3 ? 1 : 2).join('')}***`;
  }
  const lastInitial = graphemes(words[words.length - 1]!)[0]!;
  return `${first} ${lastInitial.toLocaleUpperCase()}.`;
}
