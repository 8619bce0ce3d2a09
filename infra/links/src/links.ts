// The link proxies: one listener per port of every link, each connection piped both ways through
// Pipe with the leg's impairment under the active faults. The faults live here, in one list; a change
// reaches every open connection at its next chunk (and kicks the ones a blackhole was holding).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type Fault, type Link, linkName } from '@failover-lab/contracts';
import { type Impairment, impairmentOf, type Leg, withFault } from './impairment';
import { type Forwarding, KernelPath } from './kernel';
import { Pipe } from './pipe';

interface Connection {
  client: Socket;
  upstream: Socket | undefined;
  pipes: Pipe[];
  /** connect() waiting for a blackholed leg to heal */
  pending?: () => void;
}

export class Links {
  private faults: Fault[] = [];
  private readonly servers: Server[] = [];
  private readonly open = new Map<string, Set<Connection>>();
  private readonly kernel: KernelPath;

  constructor(
    readonly links: readonly Link[],
    private readonly onChange: (faults: Fault[]) => void = () => {},
    /** the lab's iptables chain for links at rest (kernel.ts); absent: every byte crosses the proxy */
    kernel?: { chain: string; scope?: 'edge' | 'all'; log?: (line: string) => void },
  ) {
    for (const link of links) this.open.set(linkName(link), new Set());
    this.kernel = new KernelPath(
      links,
      kernel?.chain,
      kernel?.scope ?? 'edge',
      (link) => [...this.open.get(linkName(link))!].map((c) => c.client.remotePort ?? 0),
      kernel?.log,
    );
  }

  async listen(): Promise<void> {
    for (const link of this.links) {
      for (const port of link.ports) {
        // Half-open allowed: a FIN crosses the link as a FIN (after the bytes queued before it), it
        // does not close the other direction.
        const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) =>
          this.accept(link, port.target, client),
        );
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port.listen, link.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        this.servers.push(server);
      }
    }
    // the proxy listens first: a link taken off the kernel path has somewhere to land
    await this.kernel.open(this.faults);
  }

  async close(): Promise<void> {
    await this.kernel.close();
    for (const set of this.open.values()) for (const c of set) this.destroy(c, false);
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }

  forwarding(): Forwarding {
    return this.kernel.forwarding();
  }

  active(): Fault[] {
    return [...this.faults];
  }

  /** Replaces the active faults (a restart reloading its state file). */
  restore(faults: Fault[]) {
    this.faults = faults;
    this.changed();
  }

  /** Resolves once the fault holds for every new connection (its link is off the kernel path). */
  async apply(fault: Fault): Promise<Fault[]> {
    if (fault.kind === 'link_reset') {
      this.resetConnections(fault);
      await this.kernel.reset((link) => this.resets(fault, link));
    }
    this.faults = withFault(this.faults, fault);
    this.changed();
    await this.kernel.sync(this.faults);
    return this.active();
  }

  /** `lab reset`: every link healthy. */
  async healAll(): Promise<Fault[]> {
    this.faults = [];
    this.changed();
    await this.kernel.sync(this.faults);
    return [];
  }

  connections(): Record<string, number> {
    return Object.fromEntries([...this.open].map(([name, set]) => [name, set.size]));
  }

  private changed() {
    this.onChange(this.active());
    for (const set of this.open.values()) {
      for (const c of set) {
        c.pending?.();
        for (const pipe of c.pipes) pipe.kick();
      }
    }
  }

  private impairment(leg: Leg): () => Impairment | null {
    return () => (this.faults.length === 0 ? null : impairmentOf(this.faults, leg));
  }

  private accept(link: Link, target: { host: string; port: number }, client: Socket) {
    const set = this.open.get(linkName(link))!;
    const conn: Connection = { client, upstream: undefined, pipes: [] };
    set.add(conn);
    // A reset or error on one side reaches the other as a reset; a clean close crosses as a FIN
    // through the pipes, and the record goes once both sides are closed.
    client.on('error', () => this.destroy(conn, true));
    client.on('close', () => {
      if (!conn.upstream || conn.upstream.destroyed) this.forget(conn);
    });
    const forward = this.impairment({ src: link.from, dst: link.to, service: link.service });
    const backward = this.impairment({ src: link.to, dst: link.from, service: link.service });
    // Until the upstream is there the client's bytes wait in its socket (paused), not in memory.
    client.pause();
    const open = () => {
      if (forward()?.blackhole) {
        // A SYN into a blackhole is never answered: the connection hangs until the heal or the
        // client's own timeout, never refused.
        conn.pending = () => {
          if (!forward()?.blackhole) {
            conn.pending = undefined;
            open();
          }
        };
        return;
      }
      const upstream = connect({
        host: target.host,
        port: target.port,
        noDelay: true,
        allowHalfOpen: true,
        ...(link.source ? { localAddress: link.source } : {}),
      });
      conn.upstream = upstream;
      upstream.on('error', () => this.destroy(conn, true));
      upstream.on('close', () => {
        if (conn.client.destroyed) this.forget(conn);
        // the target closed before the client did: nothing more can come back
        else if (conn.pipes.length === 0) this.destroy(conn, true);
      });
      upstream.once('connect', () => {
        conn.pipes = [new Pipe(client, upstream, forward), new Pipe(upstream, client, backward)];
        client.resume();
      });
    };
    open();
  }

  /** reset: RST both ways, as a peer's reset reaches the other side; otherwise a plain close. */
  private destroy(conn: Connection, reset: boolean) {
    for (const pipe of conn.pipes) pipe.close();
    conn.pending = undefined;
    for (const socket of [conn.client, conn.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (!reset) socket.destroy();
      else {
        try {
          socket.resetAndDestroy();
        } catch {
          socket.destroy(); // not connected yet: nothing to reset
        }
      }
    }
    this.forget(conn);
  }

  private forget(conn: Connection) {
    for (const pipe of conn.pipes) pipe.close();
    for (const set of this.open.values()) set.delete(conn);
  }

  private resets(fault: Fault, link: Link): boolean {
    const ends = [link.from, link.to].sort().join('|');
    if (ends !== [fault.target.from, fault.target.region].sort().join('|')) return false;
    return fault.target.service === undefined || fault.target.service === link.service;
  }

  private resetConnections(fault: Fault) {
    for (const link of this.links) {
      if (!this.resets(fault, link)) continue;
      for (const conn of this.open.get(linkName(link))!) this.destroy(conn, true);
    }
  }
}
