// Steady client traffic through the router for the integration tests and the benchmark: every
// request is retry-safe by construction (GETs, transfers with an Idempotency-Key, messages with a
// client id), so the router may hold and resend all of them during a failover.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';

export type Service = 'login' | 'payments' | 'messaging';

export interface TrafficRecord {
  service: Service;
  op: string;
  start: number;
  end: number;
  status: number;
  servedBy: string | null;
  epoch: string | null;
  error: string | null;
  /** idempotency key or message id of a write */
  writeId: string | null;
}

export interface LabUsers {
  users: { id: string; username: string; token: string; accountId: string }[];
}

const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 32 });

async function call(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(url, {
    dispatcher,
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, body: parsed, headers: res.headers };
}

async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Two users with seeded payments accounts (seeded on the payments primary cell with the admin token). */
export async function setupUsers(
  routerUrl: string,
  paymentsCellUrl: string,
  adminToken: string,
): Promise<LabUsers> {
  const tag = `rt${Date.now().toString(36)}`;
  const users: LabUsers['users'] = [];
  for (let i = 0; i < 2; i++) {
    const username = `${tag}_u${i}`;
    const password = `pw-${randomUUID()}`;
    const created = await retry('sign-up', async () => {
      const r = await call(`${routerUrl}/login/users`, 'POST', {}, { username, password });
      if (r.status !== 201) throw new Error(`sign-up ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { id: string };
    });
    const session = await retry('sign-in', async () => {
      const r = await call(`${routerUrl}/login/sessions`, 'POST', {}, { username, password });
      if (r.status !== 201) throw new Error(`sign-in ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { accessToken: string };
    });
    users.push({ id: created.id, username, token: session.accessToken, accountId: `${tag}-a${i}` });
  }
  await retry('seed accounts', async () => {
    const r = await call(
      `${paymentsCellUrl}/admin/seed/accounts`,
      'POST',
      { authorization: `Bearer ${adminToken}` },
      { accounts: users.map((u) => ({ id: u.accountId, owner: u.id, balance: 1_000_000 })) },
    );
    if (r.status >= 300) throw new Error(`seed ${r.status} ${JSON.stringify(r.body)}`);
  });
  return { users };
}

/** One request per service every `everyMs`, alternating a write and a read. */
export class Traffic {
  readonly records: TrafficRecord[] = [];
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<void>>();
  private n = 0;

  constructor(
    private readonly routerUrl: string,
    private readonly lab: LabUsers,
    private readonly everyMs = 50,
  ) {}

  start(): void {
    for (const service of ['login', 'payments', 'messaging'] as const) {
      this.timers.push(setInterval(() => this.fire(service), this.everyMs));
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([...this.inFlight]);
  }

  since(t: number, service?: Service): TrafficRecord[] {
    return this.records.filter((r) => r.start >= t && (!service || r.service === service));
  }

  failures(t: number, service?: Service): TrafficRecord[] {
    return this.since(t, service).filter((r) => r.error !== null || r.status >= 500);
  }

  private fire(service: Service): void {
    const i = this.n++;
    const user = this.lab.users[i % 2]!;
    const other = this.lab.users[(i + 1) % 2]!;
    const auth = { authorization: `Bearer ${user.token}` };
    let op: string;
    let run: () => ReturnType<typeof call>;
    const write = i % 2 === 0;
    const writeId = write && service !== 'login' ? randomUUID() : null;
    if (service === 'login') {
      op = 'me';
      run = () => call(`${this.routerUrl}/login/me`, 'GET', auth);
    } else if (service === 'payments') {
      op = write ? 'transfer' : 'account';
      run = write
        ? () =>
            call(
              `${this.routerUrl}/payments/transfers`,
              'POST',
              { ...auth, 'idempotency-key': writeId! },
              { from: user.accountId, to: other.accountId, amount: 1 },
            )
        : () => call(`${this.routerUrl}/payments/accounts/${user.accountId}`, 'GET', auth);
    } else {
      op = write ? 'post' : 'list';
      run = write
        ? () =>
            call(`${this.routerUrl}/messaging/rooms/router-it/messages`, 'POST', auth, {
              id: writeId!,
              body: `hello ${i}`,
            })
        : () => call(`${this.routerUrl}/messaging/rooms/router-it/messages?limit=5`, 'GET', auth);
    }
    const start = Date.now();
    const p = run()
      .then((r) => {
        this.records.push({
          service,
          op,
          start,
          end: Date.now(),
          status: r.status,
          servedBy: (r.headers['x-served-by'] as string | undefined) ?? null,
          epoch: (r.headers['x-failover-epoch'] as string | undefined) ?? null,
          error: r.status >= 500 ? JSON.stringify(r.body).slice(0, 200) : null,
          writeId,
        });
      })
      .catch((err: Error & { code?: string }) => {
        this.records.push({
          service,
          op,
          start,
          end: Date.now(),
          status: 0,
          servedBy: null,
          epoch: null,
          error: err.code ?? err.message,
          writeId,
        });
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}

export function summarize(records: TrafficRecord[]): string {
  const by = new Map<string, { n: number; failed: number; regions: Set<string> }>();
  for (const r of records) {
    const k = `${r.service}/${r.op}`;
    const s = by.get(k) ?? { n: 0, failed: 0, regions: new Set<string>() };
    s.n++;
    if (r.error !== null || r.status >= 500) s.failed++;
    if (r.servedBy) s.regions.add(r.servedBy);
    by.set(k, s);
  }
  return [...by.entries()]
    .map(([k, s]) => `${k}: ${s.n} req, ${s.failed} failed, via ${[...s.regions].join('+')}`)
    .join('; ');
}
