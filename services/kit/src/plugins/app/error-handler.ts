// Every error a cell answers with is the contract's body with a code of the service's table (or the
// admin API's). A client's mistake is a 4xx; a data store that is gone or read-only is a 503 the
// router may retry elsewhere; only a bug is a 500.
import { drainRefusedBody, errorBody } from '@failover-lab/contracts';
import type { FastifyError, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { isConnectionError, READ_ONLY_SQLSTATE } from '../../db';
import { adminErrors, isKnownError } from '../../errors';

const UNDEFINED_TABLE_SQLSTATE = '42P01';

function isRedisUnavailable(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  return /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED/.test(message);
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send(errorBody(code, message));
}

export const errorHandlerPlugin = fp(
  async (app) => {
    const { errors, cell } = app;
    const tables = [errors, adminErrors];
    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (isKnownError(err, tables)) {
        if ((err.statusCode ?? 500) >= 500) request.log.warn({ code: err.code, msg: err.message }, 'refused');
        return sendError(reply, err.statusCode ?? 500, err.code, err.message);
      }
      if (err.validation) {
        return sendError(reply, 400, errors.codeOf('VALIDATION'), err.message);
      }
      if ((err as { code?: string }).code === READ_ONLY_SQLSTATE) {
        // Demoted under us: re-read the role now so the next writes are refused before reaching Postgres.
        void cell.refresh();
        return sendError(reply, 503, errors.codeOf('FENCED'), 'the database is read-only (standby)');
      }
      if ((err as { code?: string }).code === UNDEFINED_TABLE_SQLSTATE && cell.role() !== 'primary') {
        // A standby started before its primary's migrations replicated: not ready yet, not a bug.
        return sendError(
          reply,
          503,
          errors.codeOf('UNAVAILABLE'),
          'schema not replicated to this standby yet',
        );
      }
      if (isConnectionError(err) || isRedisUnavailable(err)) {
        request.log.warn({ err }, 'data store unavailable');
        return sendError(
          reply,
          503,
          errors.codeOf('UNAVAILABLE'),
          'a data store is unavailable, retry later',
        );
      }
      const status = err.statusCode ?? 500;
      if (status === 413) {
        // Read the rest of the body first, or the close resets the connection and the 413 is lost.
        const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1024 * 1024;
        return drainRefusedBody(request.raw, 8 * limit).then(() =>
          sendError(reply, 413, errors.codeOf('PAYLOAD_TOO_LARGE'), err.message),
        );
      }
      if (status === 415) return sendError(reply, 415, errors.codeOf('UNSUPPORTED_MEDIA_TYPE'), err.message);
      if (status === 404) return sendError(reply, 404, errors.codeOf('NOT_FOUND'), err.message);
      if (status >= 400 && status < 500) {
        // Bad JSON, empty body, proto poisoning, bad headers…: the client's mistake, never a 5xx.
        return sendError(reply, 400, errors.codeOf('VALIDATION'), err.message);
      }
      request.log.error({ err }, 'unhandled error');
      return sendError(reply, 500, errors.codeOf('INTERNAL'), 'internal error');
    });
    app.setNotFoundHandler((request, reply) =>
      sendError(
        reply,
        404,
        errors.codeOf('NOT_FOUND'),
        `no route ${request.method} ${request.url.slice(0, 200)}`,
      ),
    );
  },
  { name: 'cell-error-handler', dependencies: ['cell-role'] },
);
