import { fileURLToPath } from 'node:url';
import { buildCell, type CellConfig } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import { paymentAdminRoutes } from './admin-routes';
import { paymentErrors } from './errors';
import { paymentRoutes } from './routes';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

export function buildPayments(
  config: CellConfig,
  extra: { logStream?: NodeJS.WritableStream; poolMax?: number } = {},
): Promise<FastifyInstance> {
  return buildCell({
    config,
    migrationsDir: MIGRATIONS_DIR,
    errors: paymentErrors,
    routes: paymentRoutes,
    adminRoutes: paymentAdminRoutes,
    ...extra,
  });
}
