import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { endToEndHeaders, isRetrySafe, retrySafetyTable } from '../src/proxy/retry-safety';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('which requests may be sent twice', () => {
  it.each([
    ['GET', 'payments', '/payments/accounts/a1', {}, undefined, true],
    ['HEAD', 'login', '/login/me', {}, undefined, true],
    ['POST', 'payments', '/payments/transfers', { 'idempotency-key': 'k1' }, body({ amount: 1 }), true],
    ['POST', 'payments', '/payments/transfers', {}, body({ amount: 1 }), false],
    ['POST', 'messaging', '/messaging/rooms/r1/messages', {}, body({ id: 'm1', body: 'hi' }), true],
    ['POST', 'messaging', '/messaging/rooms/r1/messages', {}, body({ body: 'no id' }), false],
    ['POST', 'messaging', '/messaging/rooms/r1/messages', {}, Buffer.from('{not json'), false],
    ['POST', 'messaging', '/messaging/rooms/r1/other', {}, body({ id: 'm1' }), false],
    ['POST', 'login', '/login/sessions', {}, body({ username: 'u', password: 'p' }), false],
    ['DELETE', 'login', '/login/sessions/current', {}, undefined, false],
    // a header alone makes nothing safe: these would rotate twice / answer 409 for a created user
    [
      'POST',
      'login',
      '/login/sessions/refresh',
      { 'idempotency-key': 'k1' },
      body({ refreshToken: 'r' }),
      false,
    ],
    ['POST', 'login', '/login/users', { 'idempotency-key': 'k1' }, body({ username: 'u' }), false],
    ['DELETE', 'login', '/login/sessions/current', { 'idempotency-key': 'k1' }, undefined, false],
    ['POST', 'payments', '/payments/accounts', { 'idempotency-key': 'k1' }, body({}), false],
    ['PUT', 'payments', '/payments/transfers', { 'idempotency-key': 'k1' }, body({}), false],
    ['POST', 'payments', '/payments/transfers', { 'idempotency-key': '' }, body({ amount: 1 }), false],
    ['POST', 'messaging', '/messaging/rooms/r1/messages', {}, Buffer.from('null'), false],
  ] as const)('%s %s %s → %s', (method, service, path, headers, b, expected) => {
    expect(isRetrySafe(method, service, path, headers, b)).toBe(expected);
  });

  it('drops hop-by-hop headers and those the Connection header names', () => {
    expect(
      endToEndHeaders(
        {
          connection: 'close, x-secret-hop',
          'x-secret-hop': '1',
          'keep-alive': 'timeout=5',
          'transfer-encoding': 'chunked',
          te: 'trailers',
          'x-keep': 'y',
          host: 'h',
        },
        ['host'],
      ),
    ).toEqual({ 'x-keep': 'y' });
  });

  it('a plain Connection value names nothing; one that names headers drops them on that call only', () => {
    const alsoDrop = ['host'];
    expect(endToEndHeaders({ connection: 'Keep-Alive', 'x-a': '1', host: 'h' }, alsoDrop)).toEqual({
      'x-a': '1',
    });
    expect(endToEndHeaders({ connection: 'Keep-Alive, X-A', 'x-a': '1', 'x-b': '2' }, alsoDrop)).toEqual({
      'x-b': '2',
    });
    // the names dropped for the call before are not remembered for the next
    expect(endToEndHeaders({ 'x-a': '1', 'x-b': '2', host: 'h' }, alsoDrop)).toEqual({
      'x-a': '1',
      'x-b': '2',
    });
    expect(endToEndHeaders({ connection: ['close', 'x-b'] as unknown as string, 'x-b': '2' })).toEqual({});
  });
});

describe('the retry-safety table the docs show', () => {
  it('docs/security.md carries RETRY_SAFE_ROUTES exactly', () => {
    const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    const shown = /<!-- retry-safety-table:start -->\n([\s\S]*?)\n<!-- retry-safety-table:end -->/.exec(doc);
    expect(shown?.[1]).toBe(retrySafetyTable());
  });
});
