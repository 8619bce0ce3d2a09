// Shared by steady.js and failover.js: the project's request mix, written so that k6's JSON output
// can be audited (infra/drill/src/k6/parse.ts turns it into the drill's request records).
//
// Every request is tagged {service, op}; writes also carry wid (the idempotency key / client message
// id / user name the audit reads back). After each write one check is recorded with tags
// {service, op, wid, served_by, err, d_*}: which region answered (x-served-by), the error code from
// the body, and what the audit needs to find the write again (d_from, d_to, d_amount, d_room).
// Routes and bodies are the services' (services/*/src/routes.ts, schemas.ts): every payments and
// messaging call carries the k6 user's access token; transfers only move money between its own accounts.
import { check, fail } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import http from 'k6/http';

/**
 * Only loopback (the lab) or a compose service name (inside compose's own networks) may be a
 * target, never anything else (project rule).
 */
function allowedUrl(name, url, composeHosts) {
  const m = /^http:\/\/([^/:]+)(:\d+)?\/?$/.exec(url);
  if (!m || !(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(m[1]) || composeHosts.includes(m[1]))) {
    fail(
      `${name} must be http://127.x.y.z:port (lab) or http://${composeHosts[0]}:port (compose), got ${url}`,
    );
  }
  return url.replace(/\/$/, '');
}

export function routerUrl() {
  return allowedUrl('ROUTER_URL', __ENV.ROUTER_URL || 'http://127.0.0.1:8080', ['router']);
}

export function uuidv4() {
  const b = new Uint8Array(crypto.randomBytes(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
// Business answers are not failures: 409 = insufficient funds / username taken.
const EXPECT_2XX = http.expectedStatuses({ min: 200, max: 299 });
const EXPECT_2XX_OR_409 = http.expectedStatuses({ min: 200, max: 299 }, 409);
const TIMEOUT = __ENV.K6_REQUEST_TIMEOUT || '5s';

function errorCode(res) {
  if (res.status === 0) return res.error_code ? `K6_ERR_${res.error_code}` : 'NO_RESPONSE';
  try {
    const body = res.json();
    // biome-ignore lint/complexity/useOptionalChain: plain && parses on every k6 JS runtime; nothing here was run on k6
    return body && body.error && typeof body.error.code === 'string' ? body.error.code : `HTTP_${res.status}`;
  } catch (_) {
    return `HTTP_${res.status}`;
  }
}

function recordWrite(res, service, op, wid, detail, expected) {
  const tags = { service, op, wid, served_by: res.headers['X-Served-By'] || 'none' };
  if (!expected(res)) tags.err = errorCode(res);
  for (const [k, v] of Object.entries(detail)) tags[`d_${k}`] = String(v);
  check(res, { [`${op} acknowledged`]: (r) => r.status >= 200 && r.status < 300 }, tags);
}

const isOk = (res) => res.status >= 200 && res.status < 300;
const isOkOr409 = (res) => isOk(res) || res.status === 409;

function unique() {
  return `${exec.scenario.name}-${exec.vu.idInTest}-${exec.scenario.iterationInTest}`;
}

// ----- setup ---------------------------------------------------------------------------------------

export const ACCOUNTS = Number(__ENV.K6_ACCOUNTS || 20);
export const ROOMS = ['general', 'ops', 'random'];

/**
 * One user for the authenticated ops, plus payments accounts when an admin URL is given (the
 * seed API lives on the payments cell, not behind the router; the drill seeds them otherwise).
 */
export function setupLab() {
  const base = routerUrl();
  const runId = uuidv4().slice(0, 8);
  const username = `k6-${runId}`;
  const password = `k6-password-${uuidv4()}`;
  const creds = JSON.stringify({ username, password });
  const signup = http.post(`${base}/login/users`, creds, {
    headers: JSON_HEADERS,
    tags: { service: 'login', op: 'signup', wid: username },
  });
  if (signup.status !== 201) fail(`setup: sign-up answered ${signup.status} ${signup.body}`);
  const signin = http.post(`${base}/login/sessions`, creds, {
    headers: JSON_HEADERS,
    tags: { service: 'login', op: 'signin' },
  });
  if (signin.status !== 201) fail(`setup: sign-in answered ${signin.status} ${signin.body}`);

  const userId = signup.json('id');
  if (__ENV.PAYMENTS_ADMIN_URL && __ENV.ADMIN_TOKEN) {
    // Transfers are allowed only from the caller's own accounts: the k6 user (token sub) owns them all.
    const accounts = [];
    for (let i = 0; i < ACCOUNTS; i++)
      accounts.push({ id: `k6-acc-${i}`, owner: userId, balance: 1_000_000 });
    const adminUrl = allowedUrl('PAYMENTS_ADMIN_URL', __ENV.PAYMENTS_ADMIN_URL, [
      'payments-dc-a-app',
      'payments-dc-b-app',
    ]);
    const seeded = http.post(`${adminUrl}/admin/seed/accounts`, JSON.stringify({ accounts }), {
      headers: { ...JSON_HEADERS, authorization: `Bearer ${__ENV.ADMIN_TOKEN}` },
      tags: { service: 'payments', op: 'seed' },
    });
    if (seeded.status >= 300) fail(`setup: seeding accounts answered ${seeded.status}`);
  }
  return { base, runId, username, password, userId, accessToken: signin.json('accessToken') };
}

// ----- one iteration per service (the mix) -------------------------------------------------------

function pick(weights) {
  let r = Math.random() * weights.reduce((s, [w]) => s + w, 0);
  for (const [w, value] of weights) {
    r -= w;
    if (r < 0) return value;
  }
  return weights[weights.length - 1][1];
}

export function payments(ctx) {
  const op = pick([
    [80, 'transfer'],
    [20, 'balance'],
  ]);
  const auth = { authorization: `Bearer ${ctx.accessToken}` };
  if (op === 'balance') {
    const id = `k6-acc-${Math.floor(Math.random() * ACCOUNTS)}`;
    http.get(`${ctx.base}/payments/accounts/${id}`, {
      headers: auth,
      tags: { service: 'payments', op },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX,
    });
    return;
  }
  const from = Math.floor(Math.random() * ACCOUNTS);
  const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
  const amount = 1 + Math.floor(Math.random() * 100);
  const wid = `${ctx.runId}-${unique()}`;
  const detail = { from: `k6-acc-${from}`, to: `k6-acc-${to}`, amount };
  const res = http.post(`${ctx.base}/payments/transfers`, JSON.stringify(detail), {
    headers: { ...JSON_HEADERS, ...auth, 'idempotency-key': wid },
    tags: { service: 'payments', op, wid },
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX_OR_409,
  });
  recordWrite(res, 'payments', op, wid, detail, isOkOr409);
}

export function messaging(ctx) {
  const op = pick([
    [70, 'send'],
    [30, 'read'],
  ]);
  const room = ROOMS[Math.floor(Math.random() * ROOMS.length)];
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${ctx.accessToken}` };
  if (op === 'read') {
    http.get(`${ctx.base}/messaging/rooms/${room}/messages?limit=20`, {
      headers,
      tags: { service: 'messaging', op },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX,
    });
    return;
  }
  const wid = uuidv4(); // the client-generated message id: retries are idempotent on it
  const res = http.post(
    `${ctx.base}/messaging/rooms/${room}/messages`,
    JSON.stringify({ id: wid, body: `k6 ${ctx.runId}` }),
    {
      headers,
      tags: { service: 'messaging', op, wid },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX,
    },
  );
  recordWrite(res, 'messaging', op, wid, { room }, isOk);
}

export function login(ctx) {
  const op = pick([
    [50, 'signin'],
    [30, 'me'],
    [20, 'signup'],
  ]);
  if (op === 'me') {
    http.get(`${ctx.base}/login/me`, {
      headers: { authorization: `Bearer ${ctx.accessToken}` },
      tags: { service: 'login', op },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX,
    });
    return;
  }
  if (op === 'signin') {
    http.post(
      `${ctx.base}/login/sessions`,
      JSON.stringify({ username: ctx.username, password: ctx.password }),
      {
        headers: JSON_HEADERS,
        tags: { service: 'login', op },
        timeout: TIMEOUT,
        responseCallback: EXPECT_2XX,
      },
    );
    return;
  }
  const wid = `k6-${ctx.runId}-${unique()}`.slice(0, 32); // the user name is the write id
  const res = http.post(
    `${ctx.base}/login/users`,
    JSON.stringify({ username: wid, password: `pw-${uuidv4()}` }),
    {
      headers: JSON_HEADERS,
      tags: { service: 'login', op, wid },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX_OR_409,
    },
  );
  recordWrite(res, 'login', op, wid, {}, isOkOr409);
}

/** A constant-arrival-rate scenario per service (open model: a failing backend does not slow the offered load). */
export function scenariosFor(ratePerService, duration) {
  const scenarios = {};
  for (const service of ['login', 'payments', 'messaging']) {
    scenarios[service] = {
      executor: 'constant-arrival-rate',
      exec: service,
      rate: ratePerService,
      timeUnit: '1s',
      duration,
      // A stalled backend holds VUs for up to the request timeout: size for rate × timeout.
      preAllocatedVUs: Math.max(5, Math.ceil(ratePerService / 2)),
      maxVUs: Math.max(20, ratePerService * 6),
      tags: { service },
    };
  }
  return scenarios;
}
