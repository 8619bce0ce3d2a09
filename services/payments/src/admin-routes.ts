// Payments' admin routes (registered by the kit behind the admin token).
import { errorResponses } from '@failover-lab/cell-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { seedAccounts } from './accounts';
import { audit } from './ledger';
import { Audit, SeedRequest, SeedResult } from './schemas';

export const paymentAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/admin/seed/accounts',
    { schema: { body: SeedRequest, response: { 200: SeedResult, ...errorResponses(400, 401, 503) } } },
    async (request) => {
      app.cell.assertWritable(request);
      const { accounts } = request.body;
      const inserted = await seedAccounts(app.pg, accounts);
      return { inserted, existing: accounts.length - inserted };
    },
  );

  app.get(
    '/admin/audit/payments',
    { schema: { response: { 200: Audit, ...errorResponses(401, 503) } } },
    async () => audit(app.pg),
  );
};
