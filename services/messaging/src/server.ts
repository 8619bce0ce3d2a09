// Entry point the lab (and docker-compose) start: configuration only from the environment.
import { loadConfig, runServer } from '@failover-lab/cell-kit';
import { buildMessagingCell } from './app';

const config = loadConfig();
await runServer(() => buildMessagingCell(config), config);
