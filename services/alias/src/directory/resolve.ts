// Who receives money at an alias. Unknown aliases, pending ones, and aliases without an active
// receiving account (in that currency) get the same answer, so a lookup tells nothing more than
// "not payable here".
import { ProblemError, type Queryable } from '@wallet/kit';
import { parseAliasQuery } from '../domain/alias.ts';
import { resolveAlias, type ResolvedAlias } from '../store/aliases.ts';

export function aliasNotFound(currency: string | undefined): ProblemError {
  return new ProblemError('alias_not_found', currency ? `No alias receives ${currency} under that name` : undefined);
}

/** The receiving account, or undefined for anything that cannot be paid. */
export async function findReceiver(q: Queryable, alias: string, currency: string | undefined): Promise<ResolvedAlias | undefined> {
  const parsed = parseAliasQuery(alias);
  return parsed ? resolveAlias(q, parsed.type, parsed.canonical, currency) : undefined;
}

export async function resolveOrThrow(q: Queryable, alias: string, currency: string | undefined): Promise<ResolvedAlias> {
  const resolved = await findReceiver(q, alias, currency);
  if (!resolved) throw aliasNotFound(currency);
  return resolved;
}
