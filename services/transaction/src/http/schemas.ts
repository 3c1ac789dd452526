import { Type } from 'typebox';
import { AmountString, CurrencyCode, Transfer, Uuid, problems } from '@wallet/contracts';

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required. 1–255 visible ASCII characters; the same key with the same request returns the same result and moves money once.' })),
});

const Description = Type.Optional(Type.String({ maxLength: 200 }));

export const TransferBody = Type.Object(
  {
    fromAccountId: Uuid,
    to: Type.Object(
      {
        accountId: Type.Optional(Uuid),
        alias: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
      },
      { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'Either {accountId} or {alias}' },
    ),
    amount: AmountString,
    currency: CurrencyCode,
    description: Description,
  },
  { additionalProperties: false },
);

export const MovementBody = Type.Object(
  { accountId: Uuid, amount: AmountString, currency: CurrencyCode, description: Description },
  { additionalProperties: false },
);

export const TransferResponses = { 200: Transfer, 201: Transfer, ...problems(400, 401, 403, 404, 409, 422, 503) };

export const TransferList = Type.Object({ items: Type.Array(Transfer), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const ListQuery = Type.Object({
  accountId: Uuid,
  cursor: Type.Optional(Type.String({ maxLength: 40, pattern: '^[0-9]+$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
