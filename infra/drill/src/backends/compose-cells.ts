// How the compose backend talks to one cell without publishing it: `docker exec` into the cell's
// containers and speak from inside, on the container's own loopback. Secrets go to the docker CLI's
// environment and reach the container by name only (`-e ADMIN_TOKEN`, `-e PGPASSWORD`), so they are
// never in an argv (`ps` shows argv to every user) nor in any output.
import type { ServiceName } from '@failover-lab/contracts';
import { parseBody } from '../cell-http';
import { writesSinceLiteralSql } from '../cell-sql';
import type { CellAnswer, CellCall } from './backend';

/**
 * Runs with the app image's node inside the app container: one fetch to the app on the container's
 * loopback (`PORT` is the cell's, 3000 in docker-compose.yml), the admin token from the exec
 * environment. Prints only `{status, body}` (the body as text) or `{status: 0, error}`.
 * argv: method, path, [JSON body].
 */
export const CELL_FETCH_SCRIPT = [
  'const [method, path, body] = process.argv.slice(1);',
  "const headers = { authorization: 'Bearer ' + process.env.ADMIN_TOKEN };",
  "if (body !== undefined) headers['content-type'] = 'application/json';",
  "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + path, { method, headers, body, signal: AbortSignal.timeout(3000) })",
  '  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))',
  '  .catch((e) => process.stdout.write(JSON.stringify({ status: 0, error: String((e && e.message) || e) })));',
].join('\n');

/** `docker exec` arguments for one admin call; the token is named, never given. */
export function cellFetchArgs(containerId: string, call: CellCall): string[] {
  if (!/^\/[^\s]*$/.test(call.path))
    throw new Error(`cell path must start with / and have no spaces: ${call.path}`);
  return [
    'exec',
    '-e',
    'ADMIN_TOKEN',
    containerId,
    'node',
    '-e',
    CELL_FETCH_SCRIPT,
    // `--` ends node's own options: whatever follows is the script's argv
    '--',
    call.method,
    call.path,
    ...(call.body !== undefined ? [JSON.stringify(call.body)] : []),
  ];
}

/** The script's one line of output → the cell's answer (anything else: the cell did not answer). */
export function parseCellFetchOutput(stdout: string): CellAnswer {
  let parsed: { status?: unknown; body?: unknown; error?: unknown };
  try {
    parsed = JSON.parse(stdout.trim()) as typeof parsed;
  } catch {
    return {
      status: 0,
      body: null,
      error: `unexpected output from the cell's node: ${stdout.slice(0, 120)}`,
    };
  }
  if (typeof parsed.status !== 'number' || parsed.status === 0) {
    return { status: 0, body: null, error: String(parsed.error ?? 'no status') };
  }
  return { status: parsed.status, body: parseBody(typeof parsed.body === 'string' ? parsed.body : '') };
}

/**
 * `docker exec` arguments for the split-brain count: psql as `app` on the container's own socket.
 * pg_hba asks for the password on the socket too (scram, no trust line): it is forwarded by name
 * (`-e PGPASSWORD`, the value from docker's own environment), never given on a command line.
 */
export function cellCountArgs(containerId: string, service: ServiceName, since: Date): string[] {
  return [
    'exec',
    '-e',
    'PGPASSWORD',
    containerId,
    'psql',
    '-U',
    'app',
    '-d',
    service,
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    writesSinceLiteralSql(service, since),
  ];
}

export function parseCount(stdout: string): number {
  const text = stdout.trim();
  if (!/^\d+$/.test(text))
    throw new Error(`psql answered ${JSON.stringify(text.slice(0, 120))}, not a count`);
  return Number(text);
}
