// pino options for a cell: request ids, and secrets redacted wherever they might be logged.
import type { FastifyServerOptions } from 'fastify';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'token',
  'adminToken',
  'accessToken',
  'refreshToken',
  'databaseUrl',
  'jwtSigningKey',
  '*.password',
  '*.token',
  '*.adminToken',
  '*.accessToken',
  '*.refreshToken',
  '*.databaseUrl',
  '*.jwtSigningKey',
  '*.authorization',
];

export function loggerOptions(
  level: string,
  base: Record<string, string>,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions['logger'] {
  return {
    level,
    base,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  } as FastifyServerOptions['logger'];
}
