// runServer: listen on the cell's address and close gracefully on SIGINT/SIGTERM or a crash.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { CellConfig } from './config';

export async function runServer(
  build: () => Promise<FastifyInstance>,
  config: Pick<CellConfig, 'host' | 'port'>,
): Promise<FastifyInstance> {
  const app = await build();
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'closing');
    await app.close();
  });
  await app.listen({ host: config.host, port: config.port });
  return app;
}
