// Aliases: the names money can be sent to. Handles today; e-mail, phone and random keys (Pix DICT
// style) get their own parsers here and their own verification flows later.
import { parseHandle } from './handle.ts';

export const aliasTypes = ['handle', 'email', 'phone', 'random'] as const;
export type AliasType = (typeof aliasTypes)[number];

export interface ParsedAlias {
  type: AliasType;
  /** The form stored and compared: one alias, one canonical value. */
  canonical: string;
}

/**
 * Reads what a payer typed. Returns undefined when it cannot be an alias of any type, which callers
 * answer exactly like an unknown alias. Reserved handles still parse: nobody holds them, and saying
 * so here would only tell a scraper which names are special.
 */
export function parseAliasQuery(input: string): ParsedAlias | undefined {
  const handle = parseHandle(input);
  if (handle.ok) return { type: 'handle', canonical: handle.handle.canonical };
  if (handle.code === 'handle_reserved') {
    const display = input.startsWith('@') ? input.slice(1) : input;
    return { type: 'handle', canonical: display.toLowerCase() };
  }
  return undefined;
}

/** How an alias is shown: handles with their `@`. */
export function formatAlias(type: AliasType, value: string): string {
  return type === 'handle' ? `@${value}` : value;
}
