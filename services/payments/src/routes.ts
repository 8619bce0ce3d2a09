// Public payments routes (behind the router at /payments/*).
import { bearerToken, errorResponses, isAdminToken, READ_ONLY_SQLSTATE } from '@failover-lab/cell-kit';
import { IDEMPOTENCY_KEY_HEADER } from '@failover-lab/contracts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { findAccount } from './accounts';
import { paymentErrors } from './errors';
import { executeTransfer, findTransferRecord } from './ledger';
import {
  Account,
  AccountId,
  IDEMPOTENCY_KEY_PATTERN,
  Owner,
  Transfer,
  TransferRecord,
  TransferRequest,
} from './schemas';

function idempotencyKeyOf(request: FastifyRequest): string {
  const raw = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(raw)) {
    throw paymentErrors.make('IDEMPOTENCY_KEY_INVALID');
  }
  return raw;
}

export const paymentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const transfersTotal = app.metrics.counter('payments_transfers_total', 'Transfer requests by outcome', [
    'outcome',
  ]);

  app.get(
    '/payments/accounts/:id',
    {
      onRequest: app.authenticate,
      schema: {
        params: Type.Object({ id: AccountId }),
        response: { 200: Account, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const account = await findAccount(app.pg, request.params.id);
      // Someone else's account answers exactly like a missing one: existence is not disclosed.
      if (!account || account.owner !== request.user!.sub) throw paymentErrors.make('ACCOUNT_NOT_FOUND');
      return account;
    },
  );

  app.post(
    '/payments/transfers',
    {
      onRequest: app.authenticate,
      schema: {
        body: TransferRequest,
        response: { 201: Transfer, ...errorResponses(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      let outcome = 'rejected';
      try {
        const idempotencyKey = idempotencyKeyOf(request);
        app.cell.assertWritable(request);
        const result = await executeTransfer(app.pg, {
          caller: request.user!.sub,
          idempotencyKey,
          ...request.body,
        });
        outcome = result.replayed ? 'replayed' : result.outcome;
        if (result.replayed) reply.header('idempotent-replay', 'true');
        return reply.code(result.statusCode as 201).send(result.body as never);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === paymentErrors.codeOf('FENCED') || code === READ_ONLY_SQLSTATE) outcome = 'fenced';
        else if ((err as { statusCode?: number }).statusCode === undefined) outcome = 'error';
        throw err;
      } finally {
        transfersTotal.inc({ outcome });
      }
    },
  );

  app.get(
    '/payments/transfers/:idempotencyKey',
    {
      // the admin token (audits) or the source account owner's access token
      onRequest: async (request) => {
        if (isAdminToken(bearerToken(request), app.config.adminToken)) return;
        await app.authenticate(request);
      },
      schema: {
        params: Type.Object({ idempotencyKey: Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN.source }) }),
        querystring: Type.Object({ caller: Type.Optional(Owner) }, { additionalProperties: false }),
        response: { 200: TransferRecord, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      // A user sees only the transfers they made with the key; the admin any (one caller's, by ?caller=).
      const caller = request.user === null ? request.query.caller : request.user.sub;
      const record = await findTransferRecord(app.pg, request.params.idempotencyKey, caller);
      if (!record) throw paymentErrors.make('TRANSFER_NOT_FOUND');
      return {
        idempotencyKey: record.idempotency_key,
        outcome: record.outcome,
        statusCode: record.status_code,
        from: record.from_account,
        to: record.to_account,
        amount: Number(record.amount),
        createdAt: record.created_at.toISOString(),
        response: record.response,
      };
    },
  );
};
