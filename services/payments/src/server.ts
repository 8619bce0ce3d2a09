// Entry point the lab (and the container) starts: configuration from the environment only.
import { loadConfigOrExit, runServer } from '@failover-lab/cell-kit';
import { buildPaymentsCell } from './app';

const config = loadConfigOrExit();
await runServer(() => buildPaymentsCell(config), config);
