// Payments' admin routes (registered by the kit behind the admin token).
import { commitFor, withTransaction } from '@failover-lab/cell-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { audit } from './ledger';
import { Audit, SeedRequest } from './schemas';

export const paymentAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/admin/seed/accounts', { schema: { body: SeedRequest } }, async (request) => {
    app.cell.assertWritable(request);
    const { accounts } = request.body;
    const inserted = await withTransaction(app.pg, commitFor('payments'), async (client) => {
      // Idempotent on id: an existing account keeps its owner and balance.
      const { rowCount } = await client.query(
        `INSERT INTO accounts (id, owner, balance, opening_balance)
         SELECT id, owner, balance, balance
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS s(id, owner, balance)
         ON CONFLICT (id) DO NOTHING`,
        [accounts.map((a) => a.id), accounts.map((a) => a.owner), accounts.map((a) => a.balance)],
      );
      return rowCount ?? 0;
    });
    return { inserted, existing: accounts.length - inserted };
  });

  app.get('/admin/audit/payments', { schema: { response: { 200: Audit } } }, async () => audit(app.pg));
};
