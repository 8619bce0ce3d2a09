// The drill's retry loop: a slow, uncancellable request (a scrypt on login) must not be re-sent at a
// fixed short pace, or every retry piles one more hash onto the machine.
import { describe, expect, it } from 'vitest';
import { retrying } from '../src/admin';
import { hashBackoffMs } from '../src/load/setup';

describe('retrying', () => {
  it('pauses as told after each failure, and gives up with the last error at its deadline', async () => {
    const pauses: number[] = [];
    let attempts = 0;
    const value = await retrying(
      'a flaky call',
      5_000,
      async () => {
        attempts++;
        if (attempts < 4) throw new Error(`attempt ${attempts}`);
        return 'ok';
      },
      (failures) => {
        pauses.push(failures);
        return 5 * failures;
      },
    );
    expect(value).toBe('ok');
    expect(pauses).toEqual([1, 2, 3]);

    await expect(
      retrying(
        'a dead call',
        120,
        async () => {
          throw new Error('HTTP 504');
        },
        () => 40,
      ),
    ).rejects.toThrow('a dead call did not succeed within 120 ms: HTTP 504');
  });

  it("backs off scrypt-bearing setup calls from half a second to 8 s, past the router's 3 s deadline", () => {
    expect([1, 2, 3, 4, 5, 6, 9].map(hashBackoffMs)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });
});
