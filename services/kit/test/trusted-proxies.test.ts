// TRUSTED_PROXIES matching without a cell: literals, and names whose answer changes over time.
// Names are answered by a lookup given here: the machine's DNS server is not on loopback.
import { describe, expect, it } from 'vitest';
import { createProxyTrust, isTrustedProxyEntry, type Lookup } from '../src/trusted-proxies';

function recordingLog() {
  const warnings: object[] = [];
  const infos: object[] = [];
  return {
    warnings,
    infos,
    log: { warn: (obj: object) => void warnings.push(obj), info: (obj: object) => void infos.push(obj) },
  };
}

/** A resolver whose answer for `router` the test changes, as Docker's DNS does when it is recreated. */
function changingLookup(initial: string[] | 'ENOTFOUND') {
  let answer = initial;
  const lookup: Lookup = async (name) => {
    if (name !== 'router' || answer === 'ENOTFOUND') {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    }
    return answer.map((address) => ({ address }));
  };
  const set = (next: string[] | 'ENOTFOUND') => {
    answer = next;
  };
  return { lookup, set };
}

describe('createProxyTrust', () => {
  it('IPs and CIDRs match as listed, IPv4-mapped IPv6 included', async () => {
    const { log } = recordingLog();
    const trust = createProxyTrust(['127.9.0.1', '127.10.0.0/16', '::1'], { log });
    await trust.start();
    expect(trust.trust('127.9.0.1', 0)).toBe(true);
    expect(trust.trust('::ffff:127.10.200.3', 0)).toBe(true);
    expect(trust.trust('::1', 0)).toBe(true);
    expect(trust.trust('127.9.0.2', 0)).toBe(false);
    expect(trust.trust('not-an-address', 0)).toBe(false);
    trust.stop();
  });

  it('a name follows its current addresses: a recreated router is trusted at its new one only', async () => {
    const { log } = recordingLog();
    const dns = changingLookup(['127.20.0.2']);
    const trust = createProxyTrust(['router'], { log, lookup: dns.lookup });
    await trust.start();
    expect(trust.trust('127.20.0.2', 0)).toBe(true);
    dns.set(['127.20.0.7']);
    await trust.refresh();
    expect(trust.trust('127.20.0.7', 0)).toBe(true);
    expect(trust.trust('127.20.0.2', 0)).toBe(false);
    trust.stop();
  });

  it('a name that does not resolve trusts nothing, is warned about once, and recovers', async () => {
    const { log, warnings, infos } = recordingLog();
    const dns = changingLookup('ENOTFOUND');
    const trust = createProxyTrust(['router', '127.9.0.1'], { log, lookup: dns.lookup });
    await trust.start();
    await trust.refresh();
    expect(warnings).toEqual([expect.objectContaining({ name: 'router' })]);
    expect(trust.trust('127.9.0.1', 0)).toBe(true);
    expect(trust.trust('127.20.0.2', 0)).toBe(false);

    dns.set(['127.20.0.2']);
    await trust.refresh();
    expect(trust.trust('127.20.0.2', 0)).toBe(true);
    expect(infos).toHaveLength(1);

    // gone again (container stopped): its last address is no longer trusted
    dns.set('ENOTFOUND');
    await trust.refresh();
    expect(trust.trust('127.20.0.2', 0)).toBe(false);
    expect(warnings).toHaveLength(2);
    trust.stop();
  });
});

describe('isTrustedProxyEntry', () => {
  it.each(['127.0.0.1', '127.0.0.0/8', '::1', 'fe80::/10', 'router', 'router.edge', 'a-1'])(
    'accepts %s',
    (e) => expect(isTrustedProxyEntry(e)).toBe(true),
  );
  it.each(['', '999.1.1.1', '127.0.0.1/33', 'router/24', 'router:8080', '-x', 'x-', 'a..b', 'under_score'])(
    'refuses %s',
    (e) => expect(isTrustedProxyEntry(e)).toBe(false),
  );
});
