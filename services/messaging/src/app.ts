// The messaging cell: the kit's shared cell around the messaging routes.
import { fileURLToPath } from 'node:url';
import { buildCell, type CellConfig } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import { messagingErrors } from './errors';
import { type MessagingRouteOptions, messagingRoutes } from './routes';

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
const MIGRATIONS_ACTIVE_ACTIVE = fileURLToPath(new URL('./migrations-active-active', import.meta.url));

export interface BuildMessagingCellOptions extends MessagingRouteOptions {
  logStream?: NodeJS.WritableStream;
  poolMax?: number;
}

export function buildMessagingCell(
  config: CellConfig,
  opts: BuildMessagingCellOptions = {},
): Promise<FastifyInstance> {
  const activeActive = config.topology === 'active-active';
  return buildCell({
    config,
    migrationsDir: activeActive ? MIGRATIONS_ACTIVE_ACTIVE : MIGRATIONS,
    errors: messagingErrors,
    routes: messagingRoutes(activeActive ? { ...opts, activeActive: { region: config.region } } : opts),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.poolMax ? { poolMax: opts.poolMax } : {}),
  });
}
