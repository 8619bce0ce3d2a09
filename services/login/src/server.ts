// Entry point the lab (and docker-compose) start: configuration only from the environment.
import { loadConfig, runServer } from '@failover-lab/cell-kit';
import { buildLoginCell } from './app';
import { loadLoginSettings } from './settings';

const config = loadConfig();
const settings = loadLoginSettings();
await runServer(() => buildLoginCell(config, { settings }), config);
