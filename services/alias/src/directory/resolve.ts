// Who receives money at an alias. Unknown aliases and aliases without a receiving account (in
// that currency) get the same answer, so a lookup tells nothing more than "not payable here".
import { ProblemError, type Queryable } from '@wallet/kit';
import { parseAliasQuery } from '../domain/alias.ts';
import { resolveAlias, type ResolvedAlias } from '../store/aliases.ts';

export async function resolveOrThrow(q: Queryable, alias: string, currency: string | undefined): Promise<ResolvedAlias> {
  const parsed = parseAliasQuery(alias);
  const resolved = parsed ? await resolveAlias(q, parsed.type, parsed.canonical, currency) : undefined;
  if (!resolved) throw new ProblemError('alias_not_found', currency ? `No alias receives ${currency} under that name` : undefined);
  return resolved;
}
