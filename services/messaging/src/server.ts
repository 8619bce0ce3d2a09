// Entry point the lab (and docker-compose) start: configuration only from the environment.
import { loadConfigOrExit, runServer } from '@failover-lab/cell-kit';
import { buildMessagingCell } from './app';

const config = loadConfigOrExit();
await runServer(() => buildMessagingCell(config), config);
