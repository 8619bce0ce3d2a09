import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/cursor';

describe('cursor', () => {
  it('round-trips every bigserial value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 9223372036854775807n }), (seq) => {
        expect(decodeCursor(encodeCursor(seq))).toBe(seq.toString());
      }),
    );
  });

  it('refuses anything it did not issue', () => {
    for (const bad of [
      '',
      '12',
      'djEuYWJj',
      encodeCursor('-1'),
      encodeCursor('9223372036854775808'),
      '!!!',
    ]) {
      expect(decodeCursor(bad)).toBeNull();
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const seq = decodeCursor(s);
        if (seq !== null) expect(encodeCursor(seq)).toBe(s);
      }),
    );
  });
});
