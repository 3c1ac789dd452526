// What a reader sees of one account's balance, and who may see it.

export interface BalanceView {
  accountId: string;
  /** Null until `account.opened` has been seen (entries can overtake it); then only operators read it. */
  ownerId: string | null;
  currency: string;
  available: bigint;
  pending: bigint;
  sequence: bigint;
  /** ISO 8601. */
  updatedAt: string;
}

export interface Reader {
  subject: string;
  operator: boolean;
}

/** Owners read their own accounts, operators read every account; nobody else learns it exists. */
export function canRead(view: Pick<BalanceView, 'ownerId'>, reader: Reader): boolean {
  if (reader.operator) return true;
  return view.ownerId !== null && view.ownerId === reader.subject;
}
