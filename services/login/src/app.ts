// The login cell: the kit's shared cell around the login routes.
import { fileURLToPath } from 'node:url';
import { buildCell, type CellConfig } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import { loginErrors } from './errors';
import { loginRoutes } from './routes';
import { type LoginSettings, loadLoginSettings } from './settings';
import { createSweeper, type Sweeper } from './sweeper';
import { createAccessTokenSigner } from './tokens';

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

export interface BuildLoginCellOptions {
  settings?: LoginSettings;
  logStream?: NodeJS.WritableStream;
  poolMax?: number;
}

export async function buildLoginCell(
  config: CellConfig,
  opts: BuildLoginCellOptions = {},
): Promise<FastifyInstance> {
  if (!config.jwtSigningKey) throw new Error('JWT_SIGNING_KEY is required for the login service');
  const signer = await createAccessTokenSigner(JSON.stringify(config.jwtSigningKey));
  if (!config.jwks.keys.some((key) => key.kid === signer.kid)) {
    // Tokens we sign must verify everywhere, including in this cell's own authenticate.
    throw new Error(`JWT_JWKS has no public key with kid ${signer.kid} (the kid of JWT_SIGNING_KEY)`);
  }
  const settings = opts.settings ?? loadLoginSettings();
  const app = await buildCell({
    config,
    migrationsDir: MIGRATIONS,
    errors: loginErrors,
    routes: loginRoutes({ signer, settings }),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.poolMax ? { poolMax: opts.poolMax } : {}),
  });
  const sweeper = createSweeper(app, settings.sweep);
  app.decorate('loginSweeper', sweeper);
  app.addHook('onReady', async () => sweeper.start());
  // preClose runs before every onClose hook, so a running sweep finishes before the kit ends the pools.
  app.addHook('preClose', async () => sweeper.stop());
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** deletes expired token rows on the primary (src/sweeper.ts); tests call runOnce() directly */
    loginSweeper: Sweeper;
  }
}
