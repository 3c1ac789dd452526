// Request schemas of the account routes; responses use the shared Account schema.
import { Type } from 'typebox';
import { Account, CurrencyCode, Tier } from '@wallet/contracts';
import { NAME_LENGTH_MAX, OVERDRAFT_LIMIT_PATTERN } from '../domain/account.ts';

export const OpenAccountBody = Type.Object(
  {
    currency: CurrencyCode,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_LENGTH_MAX, description: 'Trimmed; defaults to "<CUR> account"', examples: ['Savings'] })),
  },
  { additionalProperties: false },
);

/** Not a uuid format check: a malformed id is answered like an unknown one (404), never 400. */
export const AccountIdParams = Type.Object({ id: Type.String({ maxLength: 100, description: 'Account id (uuid)' }) });

export const ListAccountsQuery = Type.Object({
  ownerId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Operators only: whose accounts to list' })),
});

export const CurrencyParams = Type.Object({ currency: CurrencyCode });

export const AccountList = Type.Object({ items: Type.Array(Account) });

const limitsProperties = {
  overdraftLimit: Type.Optional(
    Type.String({
      pattern: OVERDRAFT_LIMIT_PATTERN,
      description: 'How far below zero the account may go, in minor units, as a string of digits (0 to 9223372036854775807)',
      examples: ['50000'],
    }),
  ),
  tier: Type.Optional(Tier),
};

/**
 * At least one of the two. Unknown keys are refused, not dropped (`propertyNames`): a misspelt
 * field must not turn an operator's change into a silent no-op.
 */
export const SetLimitsBody = Type.Object(limitsProperties, {
  additionalProperties: false,
  minProperties: 1,
  propertyNames: Type.Enum(Object.keys(limitsProperties)),
  description: 'The overdraft limit and/or the limits tier; absent fields stay as they are',
});

export const RenameAccountBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: NAME_LENGTH_MAX, description: 'Trimmed', examples: ['Holidays'] }) },
  { additionalProperties: false },
);
