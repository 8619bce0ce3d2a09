// Access tokens on service routes: `onRequest: app.authenticate` verifies the bearer token (auth.ts)
// and sets request.user, else 401 <SVC>_ERR_UNAUTHORIZED.
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken, createTokenVerifier, type TokenUser } from '../../auth';
import type { CellConfig } from '../../config';

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    user: TokenUser | null;
  }
}

export const authPlugin = fp<{ jwks: CellConfig['jwks'] }>(
  async (app, { jwks }) => {
    const verifyToken = createTokenVerifier(jwks);
    app.decorateRequest('user', null);
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = bearerToken(request);
      if (!token) throw app.errors.make('UNAUTHORIZED', 'missing bearer token');
      try {
        request.user = await verifyToken(token);
      } catch {
        throw app.errors.make('UNAUTHORIZED', 'invalid or expired token');
      }
    });
  },
  { name: 'cell-auth', dependencies: ['cell-role'] },
);
