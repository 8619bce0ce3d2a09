// The payments cell: the kit's shared cell around the payments routes.
import { fileURLToPath } from 'node:url';
import { buildCell, type CellConfig } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import { paymentAdminRoutes } from './admin-routes';
import { paymentErrors } from './errors';
import { paymentRoutes } from './routes';

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

export interface BuildPaymentsCellOptions {
  logStream?: NodeJS.WritableStream;
  poolMax?: number;
}

export function buildPaymentsCell(
  config: CellConfig,
  opts: BuildPaymentsCellOptions = {},
): Promise<FastifyInstance> {
  return buildCell({
    config,
    migrationsDir: MIGRATIONS,
    errors: paymentErrors,
    routes: paymentRoutes,
    adminRoutes: paymentAdminRoutes,
    ...opts,
  });
}
