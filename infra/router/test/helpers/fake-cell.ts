// An HTTP stand-in for a cell's app, for the router's own unit tests (data plane, admin, restarts).
// It speaks the cell contract (ready/admin) from an in-memory state the test flips. The integration
// tests use the real services on real Postgres/Redis instead.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeCellState {
  role: 'primary' | 'standby' | 'fenced';
  epoch: number;
  fenced: boolean;
  pgOk: boolean;
  synchronousStandbyNames: string;
  /** flushLsn: what the standby confirmed flushing (sync returns only once it passes the degrade's mark) */
  standbys: { name: string; state: string; syncState: string; lagBytes: number; flushLsn?: string }[];
  walLsn: string;
  /** answer ready probes after this many ms (slow-but-alive) */
  readyDelayMs: number;
  /** make a promotion take this long (a failover in flight the test can observe) */
  promoteDelayMs: number;
  /** with pgOk false, answer writes 503 after this many ms (an app waiting out a dead database's connect) */
  unavailableDelayMs?: number;
  /** SIGSTOP stand-in: every request (probes included) hangs until this is false again */
  frozen?: boolean;
}

export interface FakeCell {
  region: string;
  url: string;
  state: FakeCellState;
  calls: { path: string; body: unknown; epochHeader?: string }[];
  writes: { epochHeader: string | undefined; body: unknown }[];
  /** every non-admin, non-health request as it arrived, before any freeze holds it */
  arrivals: { method: string; path: string; deadline: string | undefined; at: number }[];
  app: FastifyInstance;
  close(): Promise<void>;
  /** reopen on the same address after close() */
  reopen(): Promise<void>;
}

export async function startFakeCell(
  host: string,
  region: string,
  init: Partial<FakeCellState>,
  token: string,
): Promise<FakeCell> {
  const cell = {
    region,
    url: '',
    state: {
      role: 'primary',
      epoch: 0,
      fenced: false,
      pgOk: true,
      synchronousStandbyNames: '',
      standbys: [],
      walLsn: '0/1000',
      readyDelayMs: 0,
      promoteDelayMs: 0,
      ...init,
    } as FakeCellState,
    calls: [] as FakeCell['calls'],
    writes: [] as FakeCell['writes'],
    arrivals: [] as FakeCell['arrivals'],
  } as FakeCell;

  let port = 0;
  const build = () => {
    const app = Fastify({ logger: false });
    const readyBody = () => ({
      status: cell.state.pgOk ? 'ready' : 'not_ready',
      service: 'payments',
      region,
      role: cell.state.fenced ? 'fenced' : cell.state.role,
      epoch: cell.state.epoch,
      fenced: cell.state.fenced,
      inRecovery: cell.state.role === 'standby',
      walLsn: cell.state.walLsn,
      replicationLagBytes: cell.state.role === 'standby' ? 0 : null,
      standbys: cell.state.role === 'primary' ? cell.state.standbys : [],
      synchronousStandbyNames: cell.state.synchronousStandbyNames,
      checks: {
        postgres: cell.state.pgOk ? { ok: true, ms: 1 } : { ok: false, ms: 1, error: 'ECONNREFUSED' },
        redis: { ok: true, ms: 1 },
      },
    });
    app.get('/health/ready', async (_req, reply) => {
      if (cell.state.readyDelayMs) await new Promise((r) => setTimeout(r, cell.state.readyDelayMs));
      return reply.code(cell.state.pgOk ? 200 : 503).send(readyBody());
    });
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/admin') && !req.url.startsWith('/health')) {
        const deadline = req.headers['x-request-deadline'];
        cell.arrivals.push({
          method: req.method,
          path: req.url,
          deadline: typeof deadline === 'string' ? deadline : undefined,
          at: Date.now(),
        });
      }
      while (cell.state.frozen) await new Promise((r) => setTimeout(r, 20));
      if (req.url.startsWith('/admin') && req.headers.authorization !== `Bearer ${token}`) {
        return reply.code(401).send({ error: { code: 'ADMIN_ERR_UNAUTHORIZED', message: 'no' } });
      }
    });
    app.get('/admin/state', async () => readyBody());
    app.post('/admin/promote', async (req, reply) => {
      const { epoch } = req.body as { epoch: number };
      cell.calls.push({ path: '/admin/promote', body: req.body });
      if (epoch < cell.state.epoch)
        return reply.code(409).send({ error: { code: 'ADMIN_ERR_STALE_EPOCH', message: 'stale' } });
      if (cell.state.promoteDelayMs) await new Promise((r) => setTimeout(r, cell.state.promoteDelayMs));
      const wasStandby = cell.state.role === 'standby';
      cell.state.role = 'primary';
      cell.state.fenced = false;
      cell.state.epoch = epoch;
      if (wasStandby) cell.state.synchronousStandbyNames = '';
      return { role: 'primary', epoch, promoteMs: 3 };
    });
    app.post('/admin/fence', async (req) => {
      cell.calls.push({ path: '/admin/fence', body: req.body });
      cell.state.fenced = true;
      return { fenced: true, epoch: cell.state.epoch };
    });
    app.post('/admin/sync', async (req) => {
      cell.calls.push({ path: '/admin/sync', body: req.body });
      const { standbys } = req.body as { standbys: string[] };
      cell.state.synchronousStandbyNames = standbys.map((s) => `"${s}"`).join(',');
      return { synchronousStandbyNames: cell.state.synchronousStandbyNames };
    });
    app.get('/payments/echo', async (req) => ({
      region,
      epochHeader: req.headers['x-failover-epoch'] ?? null,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    }));
    app.post('/payments/transfers', async (req, reply) => {
      const epochHeader = req.headers['x-failover-epoch'] as string | undefined;
      if (!cell.state.pgOk) {
        await new Promise((r) => setTimeout(r, cell.state.unavailableDelayMs ?? 0));
        return reply
          .code(503)
          .send({ error: { code: 'PAY_ERR_UNAVAILABLE', message: 'data store unavailable' } });
      }
      if (
        cell.state.fenced ||
        cell.state.role !== 'primary' ||
        (epochHeader && Number(epochHeader) !== cell.state.epoch)
      ) {
        return reply.code(503).send({ error: { code: 'PAY_ERR_FENCED', message: 'fenced' } });
      }
      cell.writes.push({ epochHeader, body: req.body });
      return reply.code(201).send({ region, received: req.body });
    });
    app.get('/messaging/echo', async () => ({ region }));
    app.get('/payments/slow', async () => {
      await new Promise((r) => setTimeout(r, 400));
      return { region };
    });
    app.get('/messaging/rooms/:room/stream', (_req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => {
        reply.raw.write(`id: ${++n}\ndata: {"n":${n},"region":"${region}"}\n\n`);
      }, 50);
      reply.raw.on('close', () => clearInterval(timer));
    });
    return app;
  };

  cell.app = build();
  await cell.app.listen({ host, port: 0 });
  port = (cell.app.server.address() as AddressInfo).port;
  cell.url = `http://${host}:${port}`;
  cell.close = async () => {
    cell.app.server.closeAllConnections();
    await cell.app.close();
  };
  cell.reopen = async () => {
    cell.app = build();
    await cell.app.listen({ host, port });
  };
  return cell;
}
