import { Type } from 'typebox';
import { AmountString, CurrencyCode, Hold, Metadata, Reference, Transfer, Uuid, problems } from '@wallet/contracts';

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required. 1–255 visible ASCII characters; the same key with the same request returns the same result and moves money once.' })),
});

const Description = Type.Optional(Type.String({ maxLength: 200 }));

const TransferFields = {
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
    reference: Type.Optional(Reference),
    metadata: Type.Optional(Metadata),
};

export const TransferBody = Type.Object(TransferFields, { additionalProperties: false });

export const BATCH_SIZE_MAX = 1000;

export const BatchBody = Type.Object(
  {
    atomic: Type.Optional(Type.Boolean({ default: false, description: 'All transfers succeed or none does' })),
    transfers: Type.Array(TransferBody, { minItems: 1, maxItems: BATCH_SIZE_MAX }),
  },
  { additionalProperties: false },
);

export const BatchResult = Type.Object({
  atomic: Type.Boolean(),
  completed: Type.Integer(),
  refused: Type.Integer(),
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: Type.Integer(),
      transfer: Type.Optional(Transfer),
      error: Type.Optional(Type.Object({ code: Type.String(), detail: Type.Optional(Type.String()) }, { additionalProperties: true })),
    }),
  ),
});

export const MovementBody = Type.Object(
  { accountId: Uuid, amount: AmountString, currency: CurrencyCode, description: Description, reference: Type.Optional(Reference), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export const TransferResponses = { 200: Transfer, 201: Transfer, ...problems(400, 401, 403, 404, 409, 422, 503) };

export const TransferList = Type.Object({ items: Type.Array(Transfer), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const ListQuery = Type.Object({
  accountId: Uuid,
  cursor: Type.Optional(Type.String({ maxLength: 40, pattern: '^[0-9]+$' })),
  reference: Type.Optional(Reference),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ReversalBody = Type.Object(
  {
    amount: Type.Optional({ ...AmountString, description: 'What to return; all that is not yet reversed when absent' }),
    description: Description,
    reference: Type.Optional(Reference),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const HoldBody = Type.Object(
  {
    ...TransferFields,
    timeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'The hold expires (is voided) after this many seconds; default HOLD_TIMEOUT_DEFAULT_SECONDS (7 days)' }),
    ),
  },
  { additionalProperties: false },
);

export const PostBody = Type.Object(
  { amount: Type.Optional({ ...AmountString, description: 'What to capture, at most the hold; all of it when absent' }) },
  { additionalProperties: false },
);

export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const HoldResponses = { 200: Hold, 201: Hold, ...problems(400, 401, 403, 404, 409, 422, 503) };

export const HoldList = Type.Object({ items: Type.Array(Hold), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const HoldListQuery = Type.Object({
  accountId: Uuid,
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('posted'), Type.Literal('voided'), Type.Literal('expired')])),
  reference: Type.Optional(Reference),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
