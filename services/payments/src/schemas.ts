import { Type } from 'typebox';
import { MAX_TRANSFER_AMOUNT } from './errors';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const ACCOUNT_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
/** The largest balance seeding accepts: sums of many stay exact in a JS number. */
export const MAX_BALANCE = 1_000_000_000_000;

export const AccountId = Type.String({ pattern: ACCOUNT_ID_PATTERN });
export const Owner = Type.String({ minLength: 1, maxLength: 128 });

export const Account = Type.Object({ id: AccountId, owner: Owner, balance: Type.Integer() });

export const TransferRequest = Type.Object(
  {
    from: AccountId,
    to: AccountId,
    amount: Type.Integer({ minimum: 1, maximum: MAX_TRANSFER_AMOUNT }),
  },
  { additionalProperties: false },
);

export const Transfer = Type.Object({
  id: Type.Integer(),
  idempotencyKey: Type.String(),
  from: AccountId,
  to: AccountId,
  amount: Type.Integer(),
  status: Type.Literal('completed'),
  createdAt: Type.String(),
});

export const TransferRecord = Type.Object({
  idempotencyKey: Type.String(),
  outcome: Type.Union([Type.Literal('completed'), Type.Literal('insufficient_funds')]),
  statusCode: Type.Integer(),
  from: AccountId,
  to: AccountId,
  amount: Type.Integer(),
  createdAt: Type.String(),
  response: Type.Unknown(),
});

export const SeedRequest = Type.Object(
  {
    accounts: Type.Array(
      Type.Object(
        { id: AccountId, owner: Owner, balance: Type.Integer({ minimum: 0, maximum: MAX_BALANCE }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

export const Audit = Type.Object({
  totalBalance: Type.Integer(),
  openingBalance: Type.Integer(),
  accounts: Type.Integer(),
  negativeBalances: Type.Integer(),
  accountsOutOfBalance: Type.Integer(),
  transfers: Type.Integer(),
  rejectedTransfers: Type.Integer(),
  ledgerEntries: Type.Integer(),
  ledgerImbalance: Type.Integer(),
});

export const SeedResult = Type.Object({
  inserted: Type.Integer({ minimum: 0, description: 'accounts created by this call' }),
  existing: Type.Integer({ minimum: 0, description: 'accounts that already existed (left as they were)' }),
});
