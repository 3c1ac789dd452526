// Shared HTTP schemas (TypeBox): the pieces several services' routes are made of.
import { Type, type Static } from 'typebox';

export const AmountString = Type.String({
  pattern: '^[1-9][0-9]{0,18}$',
  description: 'A positive integer count of the currency\'s minor unit, as a string of digits ("1050" is 10.50 USD)',
  examples: ['1050'],
});

export const SignedAmountString = Type.String({ pattern: '^-?[0-9]{1,19}$', description: 'Minor units, may be negative' });

export const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code', examples: ['USD'] });

export const Uuid = Type.String({ format: 'uuid' });

/** A client's own identifier for a transfer (an order or invoice number); filterable. */
export const Reference = Type.String({ minLength: 1, maxLength: 100, description: "The client's own reference, e.g. an invoice number" });

/** Free key/value pairs kept with a transfer: at most 20 keys of ≤ 40 characters, values ≤ 500. */
export const Metadata = Type.Unsafe<Record<string, string>>({
  type: 'object',
  maxProperties: 20,
  propertyNames: { minLength: 1, maxLength: 40 },
  additionalProperties: { type: 'string', maxLength: 500 },
  description: 'At most 20 keys of 1–40 characters; string values of at most 500 characters',
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details with a stable `code`' },
);
export type Problem = Static<typeof Problem>;

export const AccountStatusSchema = Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]);

export const Account = Type.Object({
  id: Uuid,
  ownerId: Type.String(),
  currency: CurrencyCode,
  name: Type.String(),
  type: Type.Union([Type.Literal('user'), Type.Literal('settlement')]),
  status: AccountStatusSchema,
  overdraftLimit: Type.String(),
  /** The limits tier of the transfer policy. */
  tier: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Account = Static<typeof Account>;

export const Tier = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'A limits tier of the transfer policy', examples: ['standard'] });

export const Balance = Type.Object({
  accountId: Uuid,
  currency: CurrencyCode,
  /** Settled money: the sum of the account's entries. */
  posted: SignedAmountString,
  /** Reserved by pending holds out of this account. */
  pending: SignedAmountString,
  /** What the account can spend now: posted − pending + overdraft limit (settlement accounts: posted − pending). */
  available: SignedAmountString,
  overdraftLimit: Type.String({ pattern: '^[0-9]{1,19}$' }),
  sequence: Type.String({ pattern: '^[0-9]+$' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Balance = Static<typeof Balance>;

export const Transfer = Type.Object({
  id: Uuid,
  kind: Type.Union([Type.Literal('transfer'), Type.Literal('deposit'), Type.Literal('withdrawal'), Type.Literal('capture'), Type.Literal('reversal')]),
  status: Type.Literal('completed'),
  fromAccountId: Uuid,
  toAccountId: Uuid,
  amount: AmountString,
  currency: CurrencyCode,
  description: Type.Union([Type.String(), Type.Null()]),
  reference: Type.Union([Type.String(), Type.Null()]),
  metadata: Metadata,
  /** For a capture: the hold it posts. */
  holdId: Type.Union([Uuid, Type.Null()]),
  /** For a reversal: the transfer it returns money against. */
  reversalOf: Type.Union([Uuid, Type.Null()]),
  /** How much of this transfer has been reversed so far. */
  reversedAmount: Type.String({ pattern: '^[0-9]{1,19}$' }),
  createdAt: Type.String({ format: 'date-time' }),
  /** The source account after this transfer, shown to its owner and operators only:
   *  lets the sender see the new balance at once (read-your-writes). */
  source: Type.Optional(Type.Object({ accountId: Uuid, balanceAfter: SignedAmountString, sequence: Type.String() })),
});
export type Transfer = Static<typeof Transfer>;

export const Hold = Type.Object({
  id: Uuid,
  status: Type.Union([Type.Literal('pending'), Type.Literal('posted'), Type.Literal('voided'), Type.Literal('expired')]),
  fromAccountId: Uuid,
  toAccountId: Uuid,
  amount: AmountString,
  postedAmount: Type.String({ pattern: '^[0-9]{1,19}$', description: 'Captured when posted; "0" otherwise' }),
  currency: CurrencyCode,
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  reference: Type.Union([Type.String(), Type.Null()]),
  metadata: Metadata,
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** The capture transfer, once posted. */
  transferId: Type.Union([Uuid, Type.Null()]),
});
export type Hold = Static<typeof Hold>;

/** Problem responses to list on a route, for the OpenAPI docs. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Problem]));
}
