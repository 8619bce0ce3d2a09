import { homeRegion, REGIONS } from '@failover-lab/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
