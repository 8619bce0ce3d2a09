// The data-store nodes of one cell: addresses from the topology, dirs and logs from the state dir.
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import type { PostgresNode } from './datastores/postgres';
import type { RedisNode } from './datastores/redis';
import type { LabPaths } from './paths';
import type { LabSecrets } from './secrets';
import { cellHost, type Ports, replicationLinkHost } from './topology';

export interface CellNodes {
  service: ServiceName;
  region: RegionName;
  host: string;
  postgres: PostgresNode;
  redis: RedisNode;
}

export const cellId = (service: ServiceName, region: RegionName) => `${service}-${region}`;

export function cellNodes(
  paths: LabPaths,
  subnet: number,
  ports: Pick<Ports, 'postgres' | 'redis'>,
  service: ServiceName,
  region: RegionName,
  secrets: Pick<LabSecrets, 'postgresPassword' | 'redisPassword'>,
): CellNodes {
  const host = cellHost(region, service, subnet);
  const replicationHost = replicationLinkHost(region, service, subnet);
  const dirs = paths.cell(service, region, ports.postgres);
  const id = cellId(service, region);
  return {
    service,
    region,
    host,
    postgres: {
      service,
      region,
      host,
      port: ports.postgres,
      replicationHost,
      dataDir: dirs.pgData,
      socketDir: dirs.pgSocketDir,
      logFile: paths.log(`${id}-postgres`),
      superuserPassword: secrets.postgresPassword,
    },
    redis: {
      service,
      region,
      host,
      port: ports.redis,
      replicationHost,
      dir: dirs.redisDir,
      logFile: paths.log(`${id}-redis`),
      password: secrets.redisPassword,
    },
  };
}
