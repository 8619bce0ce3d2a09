import { homeRegion, REGIONS } from '@failover-lab/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseRouterConfig } from '../src/config';
import { homeKey, pickRegion } from '../src/proxy/home-region';

describe('active-active routing: home region of a room', () => {
  it('keys a path by its room (decoded), else by the whole path', () => {
    expect(homeKey('/messaging/rooms/general/messages')).toBe('general');
    expect(homeKey('/messaging/rooms/gen%2Deral/stream')).toBe('gen-eral');
    expect(homeKey('/messaging/rooms/%E0%A4%A/messages')).toBe('%E0%A4%A');
    expect(homeKey('/messaging/messages/4a1e')).toBe('/messaging/messages/4a1e');
  });

  it('FNV-1a 32 of the key picks the region: fixed values every router agrees on', () => {
    // FNV-1a("a") = 0xe40c292c (even → dc-a), FNV-1a("b") = 0xe70c2de5 (odd → dc-b)
    expect(homeRegion('a')).toBe('dc-a');
    expect(homeRegion('b')).toBe('dc-b');
  });

  it('is sticky, and spreads rooms over both regions', () => {
    const rooms = Array.from({ length: 1000 }, (_, i) => `room-${i}`);
    const counts = Object.fromEntries(REGIONS.map((r) => [r, 0]));
    for (const room of rooms) {
      expect(homeRegion(room)).toBe(homeRegion(room));
      counts[homeRegion(room)]!++;
    }
    for (const region of REGIONS) expect(counts[region]).toBeGreaterThan(400);
  });

  it('goes home while home serves, to the other region while it does not, nowhere when none does', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/), (room) => {
        const path = `/messaging/rooms/${room}/messages`;
        const home = homeRegion(room);
        const away = REGIONS.find((r) => r !== home)!;
        expect(pickRegion(['dc-a', 'dc-b'], path)).toBe(home);
        expect(pickRegion([away], path)).toBe(away);
        expect(pickRegion([], path)).toBeNull();
      }),
    );
  });
});

describe('router config: topology', () => {
  const config = (service: string, topology?: string) => ({
    listen: { host: '127.0.0.2', port: 8080 },
    stateFile: '/tmp/router-state.json',
    services: {
      [service]: {
        mode: 'async',
        ...(topology ? { topology } : {}),
        cells: { 'dc-a': 'http://127.0.1.3:3000', 'dc-b': 'http://127.0.2.3:3000' },
      },
    },
  });
  const env = { ADMIN_TOKEN: 'test-admin-token-0123456789' };

  it('takes active-active for messaging, and defaults to active-passive', () => {
    expect(parseRouterConfig(config('messaging', 'active-active'), env).services.messaging?.topology).toBe(
      'active-active',
    );
    expect(parseRouterConfig(config('messaging'), env).services.messaging?.topology).toBeUndefined();
  });

  it('refuses active-active for a service that may not run it, and an unknown topology', () => {
    expect(() => parseRouterConfig(config('payments', 'active-active'), env)).toThrow(
      /services\.payments\.topology: active-active is for messaging only/,
    );
    expect(() => parseRouterConfig(config('messaging', 'both'), env)).toThrow(ConfigError);
  });
});
