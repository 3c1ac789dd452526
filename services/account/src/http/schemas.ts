// Request schemas of the account routes; responses use the shared Account schema.
import { Type } from 'typebox';
import { Account, CurrencyCode } from '@wallet/contracts';
import { NAME_LENGTH_MAX } from '../domain/account.ts';

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
