// The project itself: its payments cell pair (app + Postgres + Redis per region, synchronous
// replication) behind its edge router, on a whole lab in its default configuration, started here in a
// temp state dir on the benchmark's subnet. The fault is what `npm run lab -- kill <region> --service
// payments` does: SIGKILL to that cell's app, Postgres (with every backend) and Redis at once.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { otherRegion, type RegionName } from '@failover-lab/contracts';
import { cellHost, type LabClient, startLab, stopLab } from '@failover-lab/lab';
import pg from 'pg';
import { Pool, request } from 'undici';
import { wallNow } from '../load';
import { projectSpuriousFailovers } from '../measure';
import { processState } from '../procs';
import { assertLoopback, getJson, sleep, waitFor } from '../util';
import type { BenchContext, PreparedRun, SystemUnderTest } from './types';

const USERS = 4;
// far more than the run can spend: a transfer is never refused for funds
const OPENING_BALANCE = 1_000_000_000;
const TOKEN_MAX_AGE_MS = 10 * 60_000; // access tokens live 15 min

interface Secrets {
  adminToken: string;
  appPassword: string;
}

interface User {
  username: string;
  password: string;
  id: string;
  accountId: string;
  token: string;
  tokenAt: number;
}

interface PaymentsStatus {
  primary: RegionName;
  serving: boolean;
  mode: string;
  rpoGuaranteeSuspended?: boolean;
}

class HttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  assertLoopback(new URL(url).hostname);
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

const errorCodeOf = (body: unknown, status: number) =>
  (body as { error?: { code?: string } } | null)?.error?.code ?? `HTTP_${status}`;

export class ProjectSystem implements SystemUnderTest {
  readonly system = 'project' as const;
  readonly config = 'default' as const;
  readonly settings = "the lab's defaults: payments synchronous, router probes and promotion as shipped";
  readonly maxAfterFaultMs = 60_000;
  private lab: LabClient | undefined;
  private stateDir = '';
  private secrets: Secrets | undefined;
  private users: User[] = [];
  /** a region killed by the last run, to bring back as standby before the next */
  private toRestore: RegionName | undefined;
  private starting = false;

  private get routerUrl() {
    return this.lab!.topo.edge.routerUrl;
  }

  async prepare(ctx: BenchContext): Promise<void> {
    this.stateDir = join(ctx.procs.root, 'lab');
    // Two tries: on a machine at load 25+ an app can miss the lab's 45 s health deadline while
    // tsx compiles it; by the second start tsx's transform cache (/tmp/tsx-<uid>) is warm.
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      ctx.log(`  starting the lab (subnet ${ctx.subnet}, state in ${this.stateDir})`);
      this.starting = true;
      try {
        this.lab = await startLab({ stateDir: this.stateDir, subnet: ctx.subnet });
        ctx.log(`  lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        break;
      } catch (err) {
        if (attempt === 2) throw err;
        ctx.log(`  the lab did not start (${(err as Error).message.split('\n')[0]}); once more`);
        await stopLab(this.stateDir, { wipe: true });
      } finally {
        this.starting = false;
      }
    }
    this.secrets = JSON.parse(readFileSync(join(this.stateDir, 'secrets.json'), 'utf8')) as Secrets;
    await this.waitSteady();
    const tag = randomBytes(3).toString('hex');
    for (let i = 0; i < USERS; i++) {
      const password = randomBytes(18).toString('base64url');
      // a fresh name per attempt: an attempt whose answer was lost leaves a harmless orphan user
      let attempt = 0;
      const { username, id } = await waitFor(
        'a bench user signed up',
        60_000,
        async () => {
          const username = `bench-${tag}-${i}-${attempt++}`;
          const created = await postJson(`${this.routerUrl}/login/users`, { username, password });
          if (created.status !== 201) throw new Error(`sign-up answered ${created.status}`);
          return { username, id: (created.body as { id: string }).id };
        },
        500,
      );
      this.users.push({ username, password, id, accountId: `bench-${tag}-a${i}`, token: '', tokenAt: 0 });
    }
    await this.refreshTokens();
    const accounts = this.users.map((u) => ({ id: u.accountId, owner: u.id, balance: OPENING_BALANCE }));
    // idempotent on account id, so a retry after a lost answer is harmless
    await waitFor(
      'payments accounts seeded',
      60_000,
      async () => {
        const primary = (await this.paymentsStatus()).primary;
        const seeded = await postJson(
          `${cellUrl(this.lab!, primary)}/admin/seed/accounts`,
          { accounts },
          { authorization: `Bearer ${this.secrets!.adminToken}` },
        );
        if (seeded.status !== 200) throw new Error(`seeding accounts answered ${seeded.status}`);
        return true;
      },
      500,
    );
    ctx.log(`  ${USERS} users signed up, their payments accounts seeded`);
  }

  async finish(ctx: BenchContext): Promise<void> {
    if (!this.stateDir) return;
    // Interrupted while starting: the supervisor names itself in a pid file only once its control
    // server listens, and stopLab finds it through that file.
    if (this.starting) await sleep(3_000);
    ctx.log('  stopping the lab');
    await stopLab(this.stateDir, { wipe: !ctx.keepState });
    this.lab = undefined;
  }

  private async refreshTokens() {
    for (const u of this.users) {
      if (Date.now() - u.tokenAt < TOKEN_MAX_AGE_MS) continue;
      const session = await waitFor(
        `${u.username} signed in`,
        60_000,
        async () => {
          const answer = await postJson(`${this.routerUrl}/login/sessions`, {
            username: u.username,
            password: u.password,
          });
          if (answer.status !== 201) throw new Error(`sign-in answered ${answer.status}`);
          return answer;
        },
        500,
      );
      u.token = (session.body as { accessToken: string }).accessToken;
      u.tokenAt = Date.now();
    }
  }

  private async paymentsStatus(): Promise<PaymentsStatus> {
    const { status, body } = await getJson(`${this.routerUrl}/admin/status`, {
      token: this.secrets!.adminToken,
    });
    if (status !== 200) throw new Error(`router status answered ${status}`);
    return (body as { services: { payments: PaymentsStatus } }).services.payments;
  }

  /** Payments served from a primary whose standby streams synchronously (the drill's steady state). */
  private async waitSteady(timeoutMs = 120_000): Promise<RegionName> {
    return waitFor(
      'payments in steady state (served, standby streaming, synchronous)',
      timeoutMs,
      async () => {
        const router = await this.paymentsStatus();
        if (!router.serving || router.mode !== 'sync' || router.rpoGuaranteeSuspended) return undefined;
        const { status, body } = await getJson(`${cellUrl(this.lab!, router.primary)}/admin/state`, {
          token: this.secrets!.adminToken,
        });
        const state = body as {
          role?: string;
          standbys?: { name: string; state: string; syncState: string }[];
        };
        const standby = state.standbys?.find((s) => s.name === otherRegion(router.primary));
        return status === 200 &&
          state.role === 'primary' &&
          standby?.state === 'streaming' &&
          standby.syncState === 'sync'
          ? router.primary
          : undefined;
      },
      250,
    );
  }

  async startRun(ctx: BenchContext): Promise<PreparedRun> {
    const lab = this.lab!;
    const secrets = this.secrets!;
    const restore = async (region: RegionName, why: string) => {
      const t0 = Date.now();
      await lab.restore(region);
      ctx.log(`    ${region} restored as standby (${why}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    if (this.toRestore) await restore(this.toRestore, 'killed by the last run');
    this.toRestore = undefined;
    let primary: RegionName;
    try {
      primary = await this.waitSteady(30_000);
    } catch {
      // The router failed over on its own (a false suspicion on a busy machine, seen at load ~25):
      // the old primary is fenced, not a standby, until the lab rebuilds it.
      const serving = (await this.paymentsStatus()).primary;
      await restore(otherRegion(serving), 'not a synchronous standby');
      primary = await this.waitSteady();
    }
    await this.refreshTokens();
    const users = this.users;
    // enough sockets that a slow answer never queues the next request in the client itself
    // (40 req/s × a 5 s timeout = 200 in flight at worst)
    const router = new Pool(this.routerUrl, { connections: 256, keepAliveTimeout: 10_000 });
    // from the start of the run: a failover before the fault is spurious too
    const runSince = new Date();
    let faultAt = 0;
    let newPrimary: RegionName | null = null;
    let killed: string[] = [];
    const ctxLog = ctx.log;
    ctxLog(`    payments primary ${primary}, standby ${otherRegion(primary)} synchronous`);

    // The transfer behind a write id never changes, so a retry replays the same request.
    const transferOf = (id: string) => {
      const n = Number(id.slice(id.lastIndexOf('-') + 1)) || 0;
      return { from: users[n % USERS]!, to: users[(n + 1) % USERS]! };
    };
    // Answers other than `ok` become an HttpError carrying the service's error code.
    const send = async (
      opts: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string },
      ok: number[],
    ) => {
      const res = await router.request({ ...opts, signal: AbortSignal.timeout(5_000) });
      const text = await res.body.text();
      if (ok.includes(res.statusCode)) return;
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      throw new HttpError(errorCodeOf(body, res.statusCode), `HTTP ${res.statusCode}`);
    };

    return {
      client: {
        write: async (id) => {
          const { from, to } = transferOf(id);
          await send(
            {
              method: 'POST',
              path: '/payments/transfers',
              headers: {
                authorization: `Bearer ${from.token}`,
                'content-type': 'application/json',
                'idempotency-key': id,
              },
              body: JSON.stringify({ from: from.accountId, to: to.accountId, amount: 1 }),
            },
            // 201 created; 200 = a replay of an earlier attempt that was applied
            [201, 200],
          );
        },
        read: async (lastId) => {
          const user = lastId ? transferOf(lastId).from : users[0]!;
          await send(
            {
              method: 'GET',
              path: `/payments/accounts/${encodeURIComponent(user.accountId)}`,
              headers: { authorization: `Bearer ${user.token}` },
            },
            [200],
          );
        },
        errorCode: (err) => {
          if (err instanceof HttpError) return err.code;
          const e = err as { code?: unknown; name?: string };
          if (typeof e.code === 'string') return e.code;
          return e.name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : (e.name ?? 'UNKNOWN');
        },
      },
      inject: async () => {
        const cell = (await lab.status()).cells.find((c) => c.service === 'payments' && c.region === primary);
        const pids = [cell?.app.pid, cell?.postgres.pid, cell?.redis.pid].filter((p): p is number => !!p);
        if (pids.length !== 3)
          throw new Error(`payments ${primary} is not fully up: ${JSON.stringify(cell)}`);
        // The supervisor does the killing (it owns the processes), a round trip away. The fault time
        // is the last moment all three were still seen running, so that trip never shortens the RTO.
        let lastSeenRunning = wallNow();
        const watch = setInterval(() => {
          if (pids.every(runningNormally)) lastSeenRunning = wallNow();
        }, 1);
        try {
          const result = await lab.kill(primary, { service: 'payments' });
          killed = result.affected;
        } finally {
          clearInterval(watch);
        }
        if (pids.every(runningNormally)) throw new Error('the kill left payments running');
        this.toRestore = primary;
        faultAt = lastSeenRunning;
        return faultAt;
      },
      audit: async (ids) => {
        newPrimary = (await this.paymentsStatus()).primary;
        const client = new pg.Client({
          host: cellHost(newPrimary, 'payments', lab.topo.subnet),
          port: lab.topo.ports.postgres,
          user: 'app',
          password: secrets.appPassword,
          database: 'payments',
        });
        await client.connect();
        try {
          // applied = ledger entry pairs per key (a completed transfer writes two rows)
          const { rows } = await client.query<{ id: string; n: number }>(
            `SELECT t.idempotency_key AS id, count(l.id)::int / 2 AS n
               FROM transfers t LEFT JOIN ledger_entries l ON l.transfer_id = t.id
              WHERE t.idempotency_key = ANY($1) GROUP BY t.idempotency_key`,
            [ids],
          );
          return new Map(rows.map((r) => [r.id, r.n]));
        } finally {
          await client.end();
        }
      },
      spurious: async () => {
        const { status, body } = await getJson(
          `${this.routerUrl}/admin/events?since=${encodeURIComponent(runSince.toISOString())}`,
          { token: secrets.adminToken },
        );
        if (status !== 200) throw new Error(`router events answered ${status}`);
        const list = (Array.isArray(body) ? body : (body as { events?: unknown[] }).events) as {
          type: string;
          service: string;
          at: string;
        }[];
        this.lastEvents = list
          .filter((e) => e.service === 'payments')
          .map((e) => `+${Math.round(Date.parse(e.at) - faultAt)}ms ${e.type}`);
        return projectSpuriousFailovers(list, 'payments');
      },
      details: () => ({ killedRegion: primary, newPrimary, killed, events: this.lastEvents }),
      close: async () => {
        await router.close().catch(() => router.destroy());
      },
    };
  }

  private lastEvents: string[] = [];
}

/** Running and not stopped: the lab stops a family (SIGSTOP) before it kills it. */
function runningNormally(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'T' && state !== 't' && state !== 'Z';
}

function cellUrl(lab: LabClient, region: RegionName): string {
  return lab.topo.cells.find((c) => c.service === 'payments' && c.region === region)!.appUrl;
}
