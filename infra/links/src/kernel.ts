// The kernel path: a link with no fault is forwarded by the kernel (iptables nat), not by this
// process. One more user-space hop costs ~0.6 ms at p50 on a loaded 2-core machine, whoever the proxy
// is (HAProxy measured the same), and a link at rest may cost at most 0.2 ms. So while no fault
// touches a link, an OUTPUT DNAT sends connections for its address:port straight to the target and a
// POSTROUTING SNAT gives them the link's source address (a cell still sees which link its traffic
// came through: X-Forwarded-For trust). When a fault touches the link, its DNAT
// goes and its kernel-forwarded connections are closed with `ss -K` (an RST to both ends, at once —
// deleting the conntrack entry instead would leave a connection waiting for a response to hang), so
// every new or reconnected connection lands on the proxy, which applies the fault. The heal puts the
// DNAT back; connections already on the proxy stay there. By default only the edge links take this
// path (the contract's `kernel.scope`): a fault starts with a reset, which a one-way cut of a
// long-lived replication stream must not.
//
// The rules live in two chains of their own, named by the lab (per subnet), so labs running side by
// side never touch each other's rules, and `sweep` removes every trace of one lab.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';
import { type Fault, type Link, linkName } from '@failover-lab/contracts';
import { impairmentOf } from './impairment';

const run = promisify(execFile);

export interface Forwarding {
  mode: 'kernel' | 'proxy';
  reason?: string;
  kernelLinks: string[];
}

/** Does any active fault touch this link, either way? Then its bytes must cross the proxy. */
export function touched(faults: readonly Fault[], link: Link): boolean {
  return (
    impairmentOf(faults, { src: link.from, dst: link.to, service: link.service }) !== null ||
    impairmentOf(faults, { src: link.to, dst: link.from, service: link.service }) !== null
  );
}

const firstLine = (err: unknown) =>
  String((err as { stderr?: string }).stderr || (err as Error).message)
    .trim()
    .split('\n')[0];

/** Removes one lab's chains and the jumps into them; nothing there is fine. */
export async function sweep(chain: string): Promise<void> {
  for (const [parent, sub] of [
    ['OUTPUT', `${chain}-O`],
    ['POSTROUTING', `${chain}-P`],
  ] as const) {
    const rules = await run('iptables', ['-w', '5', '-t', 'nat', '-S', parent]).catch(() => ({ stdout: '' }));
    for (const rule of rules.stdout.split('\n')) {
      if (!rule.startsWith('-A ') || !rule.endsWith(`-j ${sub}`)) continue;
      const args = rule.slice(3).split(' ').slice(1);
      await run('iptables', ['-w', '5', '-t', 'nat', '-D', parent, ...args]).catch(() => {});
    }
    await run('iptables', ['-w', '5', '-t', 'nat', '-F', sub]).catch(() => {});
    await run('iptables', ['-w', '5', '-t', 'nat', '-X', sub]).catch(() => {});
  }
}

export class KernelPath {
  private state: Forwarding = { mode: 'proxy', reason: 'not started', kernelLinks: [] };
  private forwarded = new Set<Link>();
  private queue: Promise<void> = Promise.resolve();

  private readonly links: readonly Link[];

  constructor(
    all: readonly Link[],
    private readonly chain: string | undefined,
    scope: 'edge' | 'all',
    /** the client ports of the connections the proxy holds for a link: `ss -K` spares them */
    private readonly proxied: (link: Link) => number[],
    private readonly log: (line: string) => void = () => {},
  ) {
    this.links = scope === 'all' ? all : all.filter((link) => link.from === 'edge');
  }

  forwarding(): Forwarding {
    return { ...this.state, kernelLinks: [...this.forwarded].map(linkName) };
  }

  /** Sets the chains up; on any failure every link stays on the proxy, and forwarding() says why. */
  async open(faults: readonly Fault[]): Promise<void> {
    if (!this.chain) return this.proxyOnly('kernel forwarding not configured');
    if (this.links.length === 0) return this.proxyOnly("no link in the kernel path's scope");
    if (process.getuid?.() !== 0) return this.proxyOnly('not root: iptables needs root');
    await sweep(this.chain);
    const snat = this.links.flatMap((link) =>
      link.source
        ? link.ports.map(
            (p) =>
              `-A ${this.chain}-P -p tcp -m conntrack --ctstate DNAT --ctorigdst ${link.host} --ctorigdstport ${p.listen} -j SNAT --to-source ${link.source}`,
          )
        : [],
    );
    try {
      await this.restore([
        `:${this.chain}-O - [0:0]`,
        `:${this.chain}-P - [0:0]`,
        `-I OUTPUT -p tcp -j ${this.chain}-O`,
        `-I POSTROUTING -o lo -p tcp -j ${this.chain}-P`,
        ...snat,
      ]);
    } catch (err) {
      await sweep(this.chain);
      return this.proxyOnly(`iptables: ${firstLine(err)}`);
    }
    const killable = await this.ssKillWorks();
    if (killable !== true) {
      await sweep(this.chain);
      return this.proxyOnly(`ss -K: ${killable}`);
    }
    this.state = { mode: 'kernel', kernelLinks: [] };
    await this.sync(faults);
  }

  /**
   * Puts every link without a fault on the kernel path and takes every other one off it (its
   * kernel-forwarded connections closed). Calls run one after another, each for the faults it was
   * given: a flapping link's down and up keep their order.
   */
  sync(faults: readonly Fault[]): Promise<void> {
    const snapshot = [...faults];
    const next = this.queue.then(() => this.syncNow(snapshot));
    this.queue = next.catch(() => {});
    return next;
  }

  /** link_reset on links the kernel forwards: their connections get an RST, the path stays. */
  reset(match: (link: Link) => boolean): Promise<void> {
    const next = this.queue.then(() => this.kill([...this.forwarded].filter(match)));
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.chain && this.state.mode === 'kernel') await sweep(this.chain);
    this.forwarded.clear();
  }

  private async syncNow(faults: readonly Fault[]) {
    if (this.state.mode !== 'kernel') return;
    try {
      await this.moveLinks(faults);
    } catch (err) {
      // A fault must never be left unapplied on a link the kernel still forwards: give up the
      // kernel path altogether (every link on the proxy from now on) and say why.
      const stranded = [...this.forwarded];
      await sweep(this.chain!);
      this.proxyOnly(`gave up the kernel path: ${firstLine(err)}`);
      await this.kill(stranded).catch(() => {});
    }
  }

  private async moveLinks(faults: readonly Fault[]) {
    const wanted = new Set(this.links.filter((link) => !touched(faults, link)));
    const leaving = [...this.forwarded].filter((link) => !wanted.has(link));
    if (leaving.length === 0 && wanted.size === this.forwarded.size) return;
    // The whole chain in one atomic iptables-restore: no moment with half the rules.
    await this.restore([
      `:${this.chain}-O - [0:0]`,
      ...[...wanted].flatMap((link) =>
        link.ports.map((p) => {
          const to = `${p.target.host}:${p.target.port}`;
          return `-A ${this.chain}-O -p tcp -d ${link.host} --dport ${p.listen} -j DNAT --to-destination ${to}`;
        }),
      ),
    ]);
    this.forwarded = wanted;
    // after the DNAT is gone: a connection opened from here on reaches the proxy, not the kernel
    await this.kill(leaving);
  }

  private async kill(links: readonly Link[]) {
    for (const link of links) {
      const ports = link.ports.map((p) => `dst ${link.host}:${p.listen}`).join(' or ');
      const spare = this.proxied(link).map((port) => `sport = :${port}`);
      const filter = spare.length === 0 ? `( ${ports} )` : `( ${ports} ) and not ( ${spare.join(' or ')} )`;
      const { stdout } = await run('ss', ['-K', '-H', '-tn', filter]);
      const closed = stdout.split('\n').filter((l) => l.trim()).length;
      if (closed > 0) this.log(`${linkName(link)}: ${closed} kernel-forwarded connection(s) closed`);
    }
  }

  private async restore(lines: string[]) {
    const child = execFile('iptables-restore', ['--noflush', '-w', '5']);
    const done = once(child, 'close');
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.stdin?.end(['*nat', ...lines, 'COMMIT', ''].join('\n'));
    const [code] = (await done) as [number | null];
    if (code !== 0) throw Object.assign(new Error(`iptables-restore exited ${code}`), { stderr });
  }

  /** A kernel built without INET_DIAG_DESTROY answers `ss -K` with nothing closed: try it once. */
  private async ssKillWorks(): Promise<true | string> {
    const host = this.links[0]?.host ?? '127.0.0.1';
    const server = createServer((s) => s.on('error', () => {}));
    try {
      server.listen(0, host);
      await once(server, 'listening');
      const port = (server.address() as { port: number }).port;
      const client = connect({ host, port });
      client.on('error', () => {});
      await once(client, 'connect');
      // (events.once would reject on the 'error' that comes first: the abort is the point)
      const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(true)));
      await run('ss', ['-K', '-H', '-tn', `dst ${host}:${port}`]);
      const ok = await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000, false))]);
      client.destroy();
      return ok ? true : 'this kernel cannot close sockets (no INET_DIAG_DESTROY)';
    } catch (err) {
      return firstLine(err);
    } finally {
      server.close();
    }
  }

  private proxyOnly(reason: string) {
    this.state = { mode: 'proxy', reason, kernelLinks: [] };
    this.forwarded.clear();
    this.log(`links at rest cross the proxy: ${reason}`);
  }
}
