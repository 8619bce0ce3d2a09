// Entry point: `LAB_STATE_DIR=.lab npx tsx infra/console/src/server.ts` (the lab supervisor starts it
// this way), or CONSOLE_MODE=compose in the compose service. See infra/console/README.md.
import { buildConsole } from './app';
import { configFromEnv } from './config';

const config = configFromEnv();
const server = await buildConsole(config);
const shutdown = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
await server.app.listen({ host: config.host, port: config.port });
server.app.log.info(`console on http://${config.host}:${config.port}/ (${config.mode} mode)`);
