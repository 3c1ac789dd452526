// Changing a handle (Cash App's $Cashtag rules): a person has exactly one handle; they may change it
// a limited number of times (HANDLE_CHANGES_MAX, 2), and each handle they leave stays reserved to
// them for HANDLE_RESERVATION_DAYS (30) — nobody else can take it, so payers who still have the
// old one are not paid to a stranger, and its owner may switch back to it. A change of casing only
// is not a change. Old handles stop receiving money at once.

export interface HandleChangeRequest {
  /** The current handle's canonical value. */
  current: string;
  /** The asked-for handle's canonical value. */
  next: string;
  changesMade: number;
  changesMax: number;
  /** Who holds a live reservation of `next`, if anyone. */
  reservedFor: string | undefined;
  userId: string;
}

export type HandleChangeDecision =
  | { kind: 'casing_only' }
  | { kind: 'change'; switchingBack: boolean }
  | { kind: 'refused'; code: 'handle_change_limit_reached' | 'handle_taken' };

export function decideHandleChange(r: HandleChangeRequest): HandleChangeDecision {
  if (r.next === r.current) return { kind: 'casing_only' };
  if (r.changesMade >= r.changesMax) return { kind: 'refused', code: 'handle_change_limit_reached' };
  if (r.reservedFor !== undefined && r.reservedFor !== r.userId) return { kind: 'refused', code: 'handle_taken' };
  return { kind: 'change', switchingBack: r.reservedFor === r.userId };
}
