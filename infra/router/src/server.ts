// Entry point the lab starts: ROUTER_CONFIG=<json> ADMIN_TOKEN=<token> tsx infra/router/src/server.ts
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadRouterConfig } from './config';
import { buildRouter } from './router';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadRouterConfig>;
  try {
    config = loadRouterConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await buildRouter(config);
  closeWithGrace({ delay: 5000 }, async ({ err }) => {
    if (err) app.log.error({ err }, 'closing after error');
    await app.close();
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
}

main().catch((err) => {
  process.stderr.write(`router failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
