// The in-container fetch script for real: a stand-in for `docker exec -e NAME <id> cmd…` runs cmd…
// on this machine with only the named variables forwarded (as docker does), against a tiny admin
// server on 127.0.0.1. It proves the token arrives in the header, the body and method arrive as sent,
// and the answer comes back parsed — without Docker, which this machine does not have.
import { execFile } from 'node:child_process';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeBackend, type Exec } from '../src/backends/compose';

const SECRETS = { adminToken: 'tok-fetch-unit-0123456789abcdef', appPassword: 'unused-here-0123456789' };

let server: FastifyInstance;
let port: number;
const seen: { method: string; url: string; authorization?: string; body: unknown }[] = [];

beforeAll(async () => {
  server = Fastify();
  server.all('/*', async (request, reply) => {
    seen.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.authorization,
      body: request.body ?? null,
    });
    if (request.headers.authorization !== `Bearer ${SECRETS.adminToken}`) {
      return reply.code(401).send({ error: { code: 'ADMIN_ERR_UNAUTHORIZED' } });
    }
    return { role: 'primary', echo: request.body ?? null };
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await server.close();
});

/** `docker ps` → one id; `docker exec -e NAME… <id> cmd…` → cmd… here, env: PATH, PORT and the named vars. */
function localDocker(cellPort: () => number): Exec {
  return (_file, args, options = {}) => {
    if (args[0] === 'ps') return Promise.resolve({ stdout: 'cell1\n' });
    if (args[0] !== 'exec') throw new Error(`unexpected docker ${args[0]}`);
    let i = 1;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', PORT: String(cellPort()) };
    while (args[i] === '-e') {
      const name = args[i + 1]!;
      expect(name).not.toContain('='); // a value here would be on the command line
      env[name] = options.env?.[name] ?? '';
      i += 2;
    }
    const [command, ...rest] = args.slice(i + 1);
    return new Promise((resolve, reject) => {
      execFile(command!, rest, { env, timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve({ stdout }),
      );
    });
  };
}

describe('the in-container fetch script, run for real', () => {
  it('GET with the token from the environment; the answer parsed', async () => {
    const backend = new ComposeBackend(
      SECRETS,
      localDocker(() => port),
    );
    const answer = await backend.cells.cellHttp('payments', 'dc-a', { method: 'GET', path: '/admin/state' });
    expect(answer).toEqual({ status: 200, body: { role: 'primary', echo: null } });
    expect(seen.at(-1)).toMatchObject({
      method: 'GET',
      url: '/admin/state',
      authorization: `Bearer ${SECRETS.adminToken}`,
    });
  }, 30_000);

  it('POST sends the JSON body with its content type', async () => {
    const backend = new ComposeBackend(
      SECRETS,
      localDocker(() => port),
    );
    const body = { accounts: [{ id: 'a "quoted" id', owner: 'u0', balance: 10_000 }] };
    const answer = await backend.cells.cellHttp('payments', 'dc-a', {
      method: 'POST',
      path: '/admin/seed/accounts?x=1',
      body,
    });
    expect(answer).toEqual({ status: 200, body: { role: 'primary', echo: body } });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/admin/seed/accounts?x=1', body });
  }, 30_000);

  it('a wrong token gets the cell’s 401 back; nothing listening is no answer', async () => {
    const wrong = new ComposeBackend(
      { ...SECRETS, adminToken: 'not-the-token-0000000000' },
      localDocker(() => port),
    );
    const denied = await wrong.cells.cellHttp('payments', 'dc-a', { method: 'GET', path: '/admin/state' });
    expect(denied).toEqual({ status: 401, body: { error: { code: 'ADMIN_ERR_UNAUTHORIZED' } } });

    const closed = Fastify();
    await closed.listen({ host: '127.0.0.1', port: 0 });
    const closedPort = (closed.server.address() as { port: number }).port;
    await closed.close();
    const nobody = new ComposeBackend(
      SECRETS,
      localDocker(() => closedPort),
    );
    const answer = await nobody.cells.cellHttp('payments', 'dc-a', { method: 'GET', path: '/admin/state' });
    expect(answer.status).toBe(0);
    expect(answer.error).toBeTruthy();
  }, 30_000);
});
