// Entry point the lab (and docker-compose) start: configuration only from the environment.
import { loadConfigOrExit, runServer } from '@failover-lab/cell-kit';
import { buildLoginCell } from './app';
import { loadLoginSettings } from './settings';

const config = loadConfigOrExit();
let settings: ReturnType<typeof loadLoginSettings>;
try {
  settings = loadLoginSettings();
} catch (err) {
  process.stderr.write(`invalid login configuration: ${(err as Error).message}\n`);
  process.exit(1);
}
await runServer(() => buildLoginCell(config, { settings }), config);
