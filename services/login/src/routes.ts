// Routes under /login. Writes are refused on a fenced/standby cell before any expensive work (scrypt).
import { randomUUID } from 'node:crypto';
import {
  bearerToken,
  commitFor,
  errorResponses,
  revocationCommitFor,
  withTransaction,
} from '@failover-lab/cell-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { Type } from 'typebox';
import { loginErrors } from './errors';
import { DummyPasswordHash, hashPassword, verifyPassword } from './password';
import { SignInRateLimiter } from './rate-limit';
import * as repo from './repository';
import { Credentials, Jwks, RefreshRequest, TokenPair, User } from './schemas';
import type { LoginSettings } from './settings';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  type AccessTokenSigner,
  hashRefreshToken,
  newRefreshToken,
  REFRESH_TOKEN_TTL_SECONDS,
} from './tokens';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COMMIT = commitFor('login');
// Sign-out, family revocation and refresh rotation wait for the synchronous standby: lost in a failover,
// they would make a signed-out or stolen token work again on the promoted standby (docs/security.md).
// Sign-ups and sign-ins stay local: losing one costs the user a retry, not a revived session.
const REVOCATION = revocationCommitFor('login');

export interface LoginRouteDeps {
  signer: AccessTokenSigner;
  settings: LoginSettings;
}

export function loginRoutes(deps: LoginRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const signIns = app.metrics.counter('login_signins_total', 'Sign-in attempts by outcome', ['outcome']);
    const failOpen = app.metrics.counter(
      'login_ratelimit_fail_open_total',
      'Sign-in attempts let through unchecked because Redis did not answer',
      [],
    );
    const limiter = new SignInRateLimiter(app.redis, {
      perUsername: deps.settings.signInLimitPerUsername,
      perIp: deps.settings.signInLimitPerIp,
      redisTimeoutMs: 250,
      onFailOpen: (error) => {
        failOpen.inc();
        app.log.warn({ err: (error as Error).message }, 'sign-in rate limiter failed open');
      },
    });
    const dummyHash = new DummyPasswordHash(deps.settings.scrypt);

    async function issueSession(
      userId: string,
      familyId: string,
      db: Parameters<typeof repo.insertRefreshToken>[0],
    ) {
      const refreshToken = newRefreshToken();
      await repo.insertRefreshToken(db, {
        hash: hashRefreshToken(refreshToken),
        familyId,
        userId,
        expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000),
      });
      return refreshToken;
    }

    async function tokenPair(userId: string, familyId: string, refreshToken: string) {
      const { token } = await deps.signer.sign({ sub: userId, sid: familyId });
      return {
        accessToken: token,
        tokenType: 'Bearer' as const,
        expiresIn: ACCESS_TOKEN_TTL_SECONDS,
        refreshToken,
      };
    }

    /** After app.authenticate: refuses tokens revoked by sign-out or by refresh-token reuse. */
    async function rejectRevoked(request: FastifyRequest): Promise<void> {
      const { sid, exp } = decodeJwt(bearerToken(request)!); // verified by app.authenticate just before
      const familyId = typeof sid === 'string' && UUID.test(sid) ? sid : null;
      const jti = request.user!.jti;
      if (!UUID.test(jti)) throw loginErrors.make('UNAUTHORIZED', 'token was not issued by this service');
      if (await repo.isAccessTokenRevoked(app.pg, jti, familyId)) throw loginErrors.make('TOKEN_REVOKED');
      request.tokenSession = { familyId, expiresAt: new Date((exp ?? 0) * 1000) };
    }

    app.post(
      '/login/users',
      { schema: { body: Credentials, response: { 201: User, ...errorResponses(400, 409, 503) } } },
      async (request, reply) => {
        app.cell.assertWritable(request);
        const { username, password } = request.body;
        // Cheap pre-check so duplicates do not cost a scrypt; the insert still settles races.
        if (await repo.findUserByUsername(app.pg, username)) throw loginErrors.make('USERNAME_TAKEN');
        const passwordHash = await hashPassword(password, deps.settings.scrypt);
        const user = await withTransaction(app.pg, COMMIT, (db) =>
          repo.insertUser(db, { id: randomUUID(), username, passwordHash }),
        );
        if (!user) throw loginErrors.make('USERNAME_TAKEN');
        return reply
          .code(201)
          .send({ id: user.id, username: user.username, createdAt: user.created_at.toISOString() });
      },
    );

    app.post(
      '/login/sessions',
      { schema: { body: Credentials, response: { 201: TokenPair, ...errorResponses(400, 401, 429, 503) } } },
      async (request, reply) => {
        app.cell.assertWritable(request);
        const { username, password } = request.body;
        const decision = await limiter.check(username, request.ip);
        if (!decision.allowed) {
          signIns.inc({ outcome: 'rate_limited' });
          reply.header('retry-after', String(decision.retryAfterSeconds));
          throw loginErrors.make('RATE_LIMITED');
        }
        const user = await repo.findUserByUsername(app.pg, username);
        // Unknown users cost one full scrypt too, so timing does not reveal which usernames exist.
        const ok = user ? await verifyPassword(password, user.password_hash) : await dummyHash.burn(password);
        if (!user || !ok) {
          signIns.inc({ outcome: 'invalid_credentials' });
          throw loginErrors.make('INVALID_CREDENTIALS');
        }
        const familyId = randomUUID();
        const refreshToken = await withTransaction(app.pg, COMMIT, async (db) => {
          await repo.insertSessionFamily(db, familyId, user.id);
          return issueSession(user.id, familyId, db);
        });
        signIns.inc({ outcome: 'success' });
        return reply.code(201).send(await tokenPair(user.id, familyId, refreshToken));
      },
    );

    app.post(
      '/login/sessions/refresh',
      { schema: { body: RefreshRequest, response: { 200: TokenPair, ...errorResponses(400, 401, 503) } } },
      async (request) => {
        app.cell.assertWritable(request);
        const presented = hashRefreshToken(request.body.refreshToken);
        const outcome = await withTransaction(app.pg, REVOCATION, async (db) => {
          const row = await repo.findRefreshTokenForUpdate(db, presented);
          if (!row || row.family_revoked_at || row.expires_at.getTime() <= Date.now()) {
            return { kind: 'invalid' as const };
          }
          if (row.rotated_at) {
            // Someone holds an old token of this family: assume theft, kill the whole session.
            await repo.revokeSessionFamily(db, row.family_id, 'refresh_token_reused');
            return { kind: 'reused' as const };
          }
          await repo.markRefreshTokenRotated(db, presented);
          const refreshToken = await issueSession(row.user_id, row.family_id, db);
          return { kind: 'rotated' as const, userId: row.user_id, familyId: row.family_id, refreshToken };
        });
        if (outcome.kind === 'invalid') throw loginErrors.make('INVALID_REFRESH_TOKEN');
        if (outcome.kind === 'reused') throw loginErrors.make('REFRESH_TOKEN_REUSED');
        return tokenPair(outcome.userId, outcome.familyId, outcome.refreshToken);
      },
    );

    app.delete(
      '/login/sessions/current',
      {
        preHandler: [app.authenticate, rejectRevoked],
        schema: { response: { 204: Type.Null(), ...errorResponses(401, 503) } },
      },
      async (request, reply) => {
        app.cell.assertWritable(request);
        const { familyId, expiresAt } = request.tokenSession!;
        await withTransaction(app.pg, REVOCATION, async (db) => {
          await repo.revokeAccessToken(db, { jti: request.user!.jti, userId: request.user!.sub, expiresAt });
          if (familyId) await repo.revokeSessionFamily(db, familyId, 'signed_out');
        });
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/login/me',
      {
        preHandler: [app.authenticate, rejectRevoked],
        schema: { response: { 200: User, ...errorResponses(401, 404) } },
      },
      async (request) => {
        const sub = request.user!.sub;
        const user = UUID.test(sub) ? await repo.findUserById(app.pg, sub) : null;
        if (!user) throw loginErrors.make('USER_NOT_FOUND');
        return { id: user.id, username: user.username, createdAt: user.created_at.toISOString() };
      },
    );

    app.get(
      '/login/.well-known/jwks.json',
      { schema: { response: { 200: Jwks } } },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return app.config.jwks;
      },
    );
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** set by rejectRevoked: the session family and expiry of the presented access token */
    tokenSession?: { familyId: string | null; expiresAt: Date };
  }
}
