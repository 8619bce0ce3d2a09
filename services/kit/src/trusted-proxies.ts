// TRUSTED_PROXIES (docs/contracts.md "Cell environment"): whose x-forwarded-for sets request.ip.
// Entries are IPs, CIDRs or host names. A name exists for docker-compose, where the router is
// `router` and its container address changes when it is recreated: the name is resolved at start and
// re-resolved periodically, so the router keeps being trusted, and nobody else gets its old address.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** An IPv4/IPv6 address, optionally with a /prefix that fits it. */
export function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A DNS host name (RFC 1123 labels). The last label may not be all digits, so a mistyped address
 * such as 999.1.1.1 is refused rather than looked up as a name.
 */
export function isHostName(entry: string): boolean {
  if (entry.length > 253) return false;
  const labels = entry.split('.');
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

export function isTrustedProxyEntry(entry: string): boolean {
  return isAddressOrCidr(entry) || isHostName(entry);
}

export type Lookup = (name: string) => Promise<{ address: string }[]>;

export interface ProxyTrustOptions {
  /** how often names are re-resolved (default 10 s) */
  refreshMs?: number;
  /** tests: a resolver other than the system's (default dns.lookup with all: true) */
  lookup?: Lookup;
  /** where a name that does not resolve is reported */
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export interface ProxyTrust {
  /** fastify `trustProxy`: is the hop at `address` a trusted proxy? */
  trust(address: string, hop: number): boolean;
  /** re-resolve every name now (also run by the timer) */
  refresh(): Promise<void>;
  /** resolve once, then keep re-resolving until stop() */
  start(): Promise<void>;
  stop(): void;
}

const systemLookup: Lookup = (name) => dnsLookup(name, { all: true, verbatim: true });

function addEntry(list: BlockList, entry: string): void {
  const [address = '', prefix] = entry.split('/');
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (prefix === undefined) list.addAddress(address, type);
  else list.addSubnet(address, Number(prefix), type);
}

export function createProxyTrust(entries: string[], options: ProxyTrustOptions): ProxyTrust {
  const literals = entries.filter(isAddressOrCidr);
  const names = entries.filter((entry) => !isAddressOrCidr(entry));
  const lookup = options.lookup ?? systemLookup;
  const resolved = new Map<string, string[]>();
  const unresolved = new Set<string>();
  let current = build();
  let timer: NodeJS.Timeout | undefined;

  function build(): BlockList {
    const list = new BlockList();
    for (const entry of literals) addEntry(list, entry);
    for (const addresses of resolved.values()) for (const address of addresses) addEntry(list, address);
    return list;
  }

  async function resolveName(name: string): Promise<void> {
    try {
      const answers = await lookup(name);
      const addresses = answers.map((a) => a.address).filter((a) => isIP(a) !== 0);
      if (addresses.length === 0) throw new Error('no addresses');
      resolved.set(name, addresses);
      if (unresolved.delete(name)) options.log.info({ name, addresses }, 'trusted proxy name resolves again');
    } catch (err) {
      // Trust nothing for it rather than a stale address another container may have been given.
      resolved.delete(name);
      if (!unresolved.has(name)) {
        unresolved.add(name);
        options.log.warn(
          { name, err: (err as Error).message },
          'trusted proxy name does not resolve: its x-forwarded-for is not believed',
        );
      }
    }
  }

  return {
    trust(address) {
      const type = isIP(address);
      if (type === 0) return false;
      return current.check(address, type === 6 ? 'ipv6' : 'ipv4');
    },
    async refresh() {
      if (names.length === 0) return;
      await Promise.all(names.map(resolveName));
      current = build();
    },
    async start() {
      await this.refresh();
      if (names.length === 0 || timer) return;
      timer = setInterval(() => void this.refresh(), options.refreshMs ?? 10_000);
      // The refresh never keeps a process alive that has nothing else to do.
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
