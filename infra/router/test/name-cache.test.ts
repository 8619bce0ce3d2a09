import { createServer, type Server } from 'node:http';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { NameCache, type NameCacheEvent, type ResolveFn, systemResolve } from '../src/health/name-cache';
import { probePostgres } from '../src/health/postgres-probe';
import { randomSubnet, waitFor } from './helpers/wait';

const errno = (code: string) => Object.assign(new Error(code), { code });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPTIONS = { refreshMs: 60_000, forgetMs: 60_000, slowMs: 200 };

/**
 * A resolver whose answers the test sets, the way dockerd's embedded DNS behaves during a restore:
 * `stall` makes it take that long (glibc waits 5 s for a dropped query), `hold()` makes it answer
 * only once the test releases it, `fail` makes it fail.
 */
function scripted(initial: string[]) {
  const state = { answer: initial as string[] | null, fail: null as string | null, stallMs: 0, calls: 0 };
  let held: Promise<void> | null = null;
  const resolve: ResolveFn = async () => {
    state.calls++;
    if (state.stallMs > 0) await sleep(state.stallMs);
    if (held) await held;
    if (state.fail) throw errno(state.fail);
    return state.answer!;
  };
  /** Stalls every resolution until the returned release() is called. */
  const hold = () => {
    let release!: () => void;
    held = new Promise<void>((r) => {
      release = () => {
        held = null;
        r();
      };
    });
    return release;
  };
  return { state, resolve, hold };
}

/**
 * A lookup that must answer while the resolver is held: it has 10 s (far more than a loaded machine
 * needs for a callback), and the resolver answers only after it. Not a bound on its time: a lookup that
 * took 100 ms under load answered from the cache all the same; one that waited for the resolver never
 * answers here.
 */
async function lookupWhileHeld(cache: NameCache, name: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup of ${name} waited for the stalled resolver`)), 10_000);
  });
  try {
    return await Promise.race([timedLookup(cache, name), waited]);
  } finally {
    clearTimeout(timer);
  }
}

/** lookup's callback form, as net.connect calls it, timed. */
function timedLookup(cache: NameCache, name: string, all = false) {
  const started = performance.now();
  return new Promise<{ ms: number; err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
    cache.lookup(name, { all }, (err, address) => resolve({ ms: performance.now() - started, err, address })),
  );
}

describe('NameCache: connections never wait on a resolver that stalls after the first answer', () => {
  it('answers from the cache at once while a refresh stalls, then takes the refreshed address', async () => {
    const dns = scripted(['127.1.0.5']);
    const cache = new NameCache(OPTIONS, dns.resolve);
    expect((await timedLookup(cache, 'login-dc-b-app')).address).toBe('127.1.0.5');

    const release = dns.hold();
    dns.state.answer = ['127.1.0.9'];
    const refreshing = cache.refreshAll();
    const during = await lookupWhileHeld(cache, 'login-dc-b-app');
    expect(during.err).toBeNull();
    expect(during.address).toBe('127.1.0.5');
    release();
    await refreshing;
    expect((await timedLookup(cache, 'login-dc-b-app')).address).toBe('127.1.0.9');
  });

  it('keeps the last good answer when the resolver does not answer (EAI_AGAIN), and says so', async () => {
    const dns = scripted(['127.1.0.5']);
    const events: NameCacheEvent[] = [];
    const cache = new NameCache({ ...OPTIONS, onEvent: (e) => events.push(e) }, dns.resolve);
    await timedLookup(cache, 'payments-dc-b-app');
    dns.state.fail = 'EAI_AGAIN';
    await cache.refreshAll();
    const after = await timedLookup(cache, 'payments-dc-b-app', true);
    expect(after.err).toBeNull();
    expect(after.address).toEqual([{ address: '127.1.0.5', family: 4 }]);
    expect(events.map((e) => e.error)).toContain('EAI_AGAIN');
  });

  it('"no such name" is an answer: a killed container fails fast, and comes back with its new address', async () => {
    const dns = scripted(['127.1.0.5']);
    const cache = new NameCache(OPTIONS, dns.resolve);
    await timedLookup(cache, 'payments-dc-a-app');
    dns.state.fail = 'ENOTFOUND';
    await cache.refreshAll();
    const release = dns.hold(); // the next refresh is stuck: the lookup must not wait for it
    const refreshing = cache.refreshAll();
    const gone = await lookupWhileHeld(cache, 'payments-dc-a-app');
    expect(gone.err?.code).toBe('ENOTFOUND');
    release();
    await refreshing;
    dns.state.fail = null;
    dns.state.answer = ['127.1.0.7'];
    await cache.refreshAll();
    expect((await timedLookup(cache, 'payments-dc-a-app')).address).toBe('127.1.0.7');
  });

  it('one resolution per name in flight, however many connections ask', async () => {
    const dns = scripted(['127.1.0.5']);
    dns.state.stallMs = 200;
    const cache = new NameCache(OPTIONS, dns.resolve);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => timedLookup(cache, 'messaging-dc-b-app')),
    );
    expect(answers.every((a) => a.address === '127.1.0.5')).toBe(true);
    await Promise.all([cache.refreshAll(), cache.refreshAll(), cache.refreshAll()]);
    expect(dns.state.calls).toBe(2);
  });

  it('the background timer refreshes names in use and forgets unused ones', async () => {
    const dns = scripted(['127.1.0.5']);
    const cache = new NameCache({ ...OPTIONS, refreshMs: 50, forgetMs: 300 }, dns.resolve);
    await timedLookup(cache, 'login-dc-a-app');
    dns.state.answer = ['127.1.0.6'];
    cache.start();
    try {
      // waited for, not slept for: on a loaded machine the 50 ms timer may be late
      await waitFor('the background refresh', async () => {
        return (await timedLookup(cache, 'login-dc-a-app')).address === '127.1.0.6';
      });
      // unused from here on: after forgetMs the resolver is no longer asked for it
      await waitFor('no more queries for the unused name', async () => {
        const calls = dns.state.calls;
        await sleep(200);
        return dns.state.calls === calls;
      });
      // and it is gone, not only quiet: a lookup now waits for the resolver, as for a new name
      const calls = dns.state.calls;
      expect((await timedLookup(cache, 'login-dc-a-app')).address).toBe('127.1.0.6');
      expect(dns.state.calls).toBe(calls + 1);
    } finally {
      cache.stop();
    }
  });
});

describe('NameCache wired into real connections', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  it('undici (the proxy and probes) and the Postgres probe connect by name through the cache', async () => {
    const host = `127.${randomSubnet()}.7.7`;
    server = createServer((_req, res) => res.end('ok'));
    const port = await new Promise<number>((resolve) =>
      server!.listen(0, host, () => resolve((server!.address() as { port: number }).port)),
    );
    const cache = new NameCache(OPTIONS, async (name) => {
      if (name === 'login-dc-a-app') return [host];
      throw errno('ENOTFOUND');
    });
    const pool = new Pool(`http://login-dc-a-app:${port}`, { connect: { lookup: cache.lookup } });
    try {
      const res = await pool.request({ path: '/', method: 'GET' });
      expect(await res.body.text()).toBe('ok');
    } finally {
      await pool.close();
    }
    // a name the cache has no address for: a failed probe at once, without waiting out the timeout. It is
    // 'silent', not 'refused': no address is no proof the node is down (the name may just not resolve
    // yet), so it counts toward `fall` but is not the hard evidence that fails a cell over sooner.
    const started = performance.now();
    expect(await probePostgres('login-dc-a-postgres', 5432, 2000, cache.lookup)).toBe('silent');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('the system resolver (hosts file) answers localhost with an IPv4 address', async () => {
    expect(await systemResolve('localhost')).toContain('127.0.0.1');
  });
});
