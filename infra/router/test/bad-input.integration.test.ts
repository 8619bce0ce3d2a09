// The bad-input run (docs/security.md): through the router of a real lab, huge, truncated and wrongly
// typed bodies, bad tokens (alg=none among them), path tricks and header injection. Every answer is a
// 4xx with an error code, and no row changes in any service's database.

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type LabClient, startLab, stopLab } from '@failover-lab/lab';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabUsers, setupUsers } from './helpers/traffic';
import { waitFor } from './helpers/wait';

type Svc = 'login' | 'payments' | 'messaging';
const SERVICES: Svc[] = ['login', 'payments', 'messaging'];
const CODE = /^(ROUTER|LOGIN|PAY|MSG|ADMIN)_ERR_[A-Z_]+$/;

let lab: LabClient;
let routerUrl: string;
let users: LabUsers;
let appPassword: string;

const flipSignature = (jwt: string) => {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  return `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
};
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Everything a bad request could have changed: row counts (and the money) of every table. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const queries: Record<Svc, string> = {
    login: `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM refresh_tokens) AS refresh,
                   (SELECT count(*) FROM session_families) AS families,
                   (SELECT count(*) FROM revoked_access_tokens) AS revoked`,
    payments: `SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM transfers) AS transfers,
                      (SELECT count(*) FROM ledger_entries) AS ledger, (SELECT sum(balance) FROM accounts) AS money`,
    messaging: 'SELECT (SELECT count(*) FROM messages) AS messages',
  };
  for (const service of SERVICES) {
    const cell = lab.topo.cells.find((c) => c.service === service && c.region === 'dc-a')!;
    const client = new pg.Client({
      host: cell.postgres.host,
      port: cell.postgres.port,
      user: 'app',
      password: appPassword,
      database: service,
    });
    await client.connect();
    try {
      const [row] = (await client.query<Record<string, string>>(queries[service])).rows;
      for (const [k, v] of Object.entries(row!)) out[`${service}.${k}`] = String(v);
    } finally {
      await client.end();
    }
  }
  return out;
}

interface Bad {
  name: string;
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function badRequests(): Bad[] {
  const [alice, bob] = users.users;
  const token = alice!.token;
  const [header, payload] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const json = { 'content-type': 'application/json' };
  const badTokens: [string, string][] = [
    ['alg=none', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`],
    ['alg=none, no dot', `${b64url({ alg: 'none' })}.${b64url(claims)}`],
    [
      'HS256 signed with the public key as secret',
      (() => {
        const h = b64url({
          alg: 'HS256',
          typ: 'JWT',
          kid: JSON.parse(Buffer.from(header!, 'base64url').toString()).kid,
        });
        const p = b64url(claims);
        const sig = createHmac('sha256', 'public-key-material').update(`${h}.${p}`).digest('base64url');
        return `${h}.${p}.${sig}`;
      })(),
    ],
    [
      'claims swapped to another user',
      `${header}.${b64url({ ...claims, sub: bob!.id })}.${token.split('.')[2]}`,
    ],
    // The signature's first character, not its last: the last base64url character of a signature
    // carries padding bits, so changing it can decode to the very same bytes (a valid token).
    ['signature flipped', flipSignature(token)],
    ['expired long ago', `${header}.${b64url({ ...claims, exp: 1 })}.${token.split('.')[2]}`],
    ['garbage', 'not-a-jwt'],
    ['empty', ''],
    ['huge', 'a'.repeat(16_000)],
  ];
  const writes: { path: string; body: unknown; headers?: Record<string, string> }[] = [
    { path: '/login/users', body: { username: `x${Date.now()}`, password: 'pw-long-enough-123' } },
    { path: '/payments/transfers', body: { from: alice!.accountId, to: bob!.accountId, amount: 1 } },
    { path: '/messaging/rooms/lobby/messages', body: { id: randomUUID(), body: 'hi' } },
  ];
  const out: Bad[] = [];

  for (const [name, t] of badTokens) {
    out.push({
      name: `token ${name}: transfer`,
      method: 'POST',
      path: '/payments/transfers',
      headers: { ...json, ...bearer(t), 'idempotency-key': randomUUID() },
      body: JSON.stringify(writes[1]!.body),
    });
    out.push({
      name: `token ${name}: message`,
      method: 'POST',
      path: '/messaging/rooms/lobby/messages',
      headers: { ...json, ...bearer(t) },
      body: JSON.stringify({ id: randomUUID(), body: 'forged' }),
    });
    out.push({
      name: `token ${name}: sign-out`,
      method: 'DELETE',
      path: '/login/sessions/current',
      headers: bearer(t),
    });
    out.push({
      name: `token ${name}: read`,
      method: 'GET',
      path: `/payments/accounts/${alice!.accountId}`,
      headers: bearer(t),
    });
  }
  const auth = { ...json, ...bearer(token), 'idempotency-key': randomUUID() };
  for (const w of writes) {
    const text = JSON.stringify(w.body);
    out.push({
      name: `huge body ${w.path}`,
      method: 'POST',
      path: w.path,
      headers: auth,
      body: Buffer.alloc(2 * 1024 * 1024, 'a'),
    });
    out.push({
      name: `huge JSON ${w.path}`,
      method: 'POST',
      path: w.path,
      headers: auth,
      body: JSON.stringify({ ...(w.body as object), pad: 'x'.repeat(900_000) }),
    });
    for (const cut of [1, Math.floor(text.length / 2), text.length - 1]) {
      out.push({
        name: `truncated at ${cut} ${w.path}`,
        method: 'POST',
        path: w.path,
        headers: auth,
        body: text.slice(0, cut),
      });
    }
    for (const wrong of [
      'null',
      '[]',
      '"s"',
      '42',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{}}}',
    ]) {
      out.push({
        name: `wrong type ${wrong} ${w.path}`,
        method: 'POST',
        path: w.path,
        headers: auth,
        body: wrong,
      });
    }
    const typed = Object.fromEntries(Object.keys(w.body as object).map((k) => [k, { nested: [1, 2] }]));
    out.push({
      name: `fields of the wrong type ${w.path}`,
      method: 'POST',
      path: w.path,
      headers: auth,
      body: JSON.stringify(typed),
    });
    out.push({
      name: `not JSON at all ${w.path}`,
      method: 'POST',
      path: w.path,
      headers: { ...auth, 'content-type': 'text/plain' },
      body: text,
    });
    out.push({
      name: `declared JSON, sent XML ${w.path}`,
      method: 'POST',
      path: w.path,
      headers: auth,
      body: '<a>1</a>',
    });
  }
  out.push({
    name: 'transfer amount as a string',
    method: 'POST',
    path: '/payments/transfers',
    headers: auth,
    body: JSON.stringify({ from: alice!.accountId, to: bob!.accountId, amount: '1' }),
  });
  out.push({
    name: 'transfer amount 1e309',
    method: 'POST',
    path: '/payments/transfers',
    headers: auth,
    body: `{"from":"${alice!.accountId}","to":"${bob!.accountId}","amount":1e309}`,
  });
  out.push({
    name: 'transfer from someone else',
    method: 'POST',
    path: '/payments/transfers',
    headers: auth,
    body: JSON.stringify({ from: bob!.accountId, to: alice!.accountId, amount: 1 }),
  });
  out.push({
    name: 'idempotency key with spaces',
    method: 'POST',
    path: '/payments/transfers',
    headers: { ...auth, 'idempotency-key': 'a b' },
    body: JSON.stringify(writes[1]!.body),
  });
  out.push({
    name: 'refresh with a garbage token',
    method: 'POST',
    path: '/login/sessions/refresh',
    headers: json,
    body: JSON.stringify({ refreshToken: 'x'.repeat(60) }),
  });
  out.push({
    name: 'sign-in, wrong password',
    method: 'POST',
    path: '/login/sessions',
    headers: json,
    body: JSON.stringify({ username: alice!.username, password: 'wrong-password-123' }),
  });

  for (const path of [
    '/payments/../login/users',
    '/payments/%2e%2e/admin/seed/accounts',
    '/payments/accounts/..%2f..%2fadmin%2faudit%2fpayments',
    '/payments/accounts/a%00b',
    '/payments/accounts/%ZZ',
    '/payments/admin/seed/accounts',
    '/login/../admin/promote',
    '/messaging/rooms/..%2F..%2Fadmin/messages',
    '/messaging/rooms/lobby%0d%0aX-Injected:%201/messages',
    '/admin/status',
    '/admin/fence',
    '/nowhere',
    '/PAYMENTS/transfers',
  ]) {
    out.push({
      name: `path ${path}`,
      method: 'POST',
      path,
      headers: { ...json, ...bearer(token) },
      body: '{}',
    });
  }
  return out;
}

/** A raw request over a socket: what an HTTP client library would refuse to send. */
function raw(text: string): Promise<{ status: number; body: string }> {
  const url = new URL(routerUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(text);
  });
}

beforeAll(async () => {
  lab = await startLab();
  const secrets = JSON.parse(readFileSync(join(lab.stateDir, 'secrets.json'), 'utf8')) as {
    adminToken: string;
    appPassword: string;
  };
  appPassword = secrets.appPassword;
  routerUrl = lab.topo.edge.routerUrl;
  for (const s of SERVICES) {
    await waitFor(
      `${s} served`,
      async () => {
        const res = await request(`${routerUrl}/admin/status`, {
          headers: { authorization: `Bearer ${secrets.adminToken}` },
        });
        const body = (await res.body.json()) as { services: Record<Svc, { serving: boolean }> };
        return body.services[s].serving;
      },
      60_000,
      100,
    );
  }
  const payments = lab.topo.cells.find((c) => c.service === 'payments' && c.region === 'dc-a')!;
  users = await setupUsers(routerUrl, payments.appUrl, secrets.adminToken);
}, 240_000);

afterAll(async () => {
  if (lab) {
    const { leftovers } = await stopLab(lab, { wipe: true });
    expect(leftovers).toEqual([]);
  }
}, 240_000);

describe('bad input through the router', () => {
  it('gets only 4xx answers with an error code, and changes no row', async () => {
    const before = await snapshot();
    const problems: string[] = [];
    for (const bad of badRequests()) {
      const res = await request(`${routerUrl}${bad.path}`, {
        method: bad.method,
        headers: bad.headers,
        body: bad.body,
      }).catch((err: Error) => ({ statusCode: 0, body: { text: async () => err.message } }));
      const text = await res.body.text();
      let code: unknown;
      try {
        code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
      } catch {
        code = undefined;
      }
      if (res.statusCode < 400 || res.statusCode >= 500 || typeof code !== 'string' || !CODE.test(code)) {
        problems.push(`${bad.name}: ${res.statusCode} ${text.slice(0, 160)}`);
      }
    }

    const rawCases: [string, string][] = [
      [
        'header injection: CR LF inside a header value',
        `POST /payments/transfers HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\rX-Injected: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      ],
      [
        'obsolete line folding',
        `POST /payments/transfers HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\r\n b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      ],
      [
        'request smuggling: Content-Length and Transfer-Encoding',
        `POST /login/users HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
      ],
      [
        'a malformed request line',
        `POST /login/users HTTP/9.9 extra\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ],
      [
        'a NUL in a header',
        `GET /payments/accounts/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\nConnection: close\r\n\r\n`,
      ],
    ];
    for (const [name, text] of rawCases) {
      const res = await raw(text);
      let code: unknown;
      try {
        code = (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code;
      } catch {
        code = undefined;
      }
      if (res.status < 400 || res.status >= 500 || typeof code !== 'string' || !CODE.test(code)) {
        problems.push(`${name}: ${res.status} ${res.body.slice(0, 160)}`);
      }
    }

    // The message names the requests: the CI summary shows the message, not vitest's diff.
    expect(problems, problems.join(' | ')).toEqual([]);
    expect(await snapshot()).toEqual(before);
  }, 300_000);
});
