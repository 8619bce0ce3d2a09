// Shared by steady.js and failover.js: the project's request mix as one k6 function per op, written so
// that k6's JSON output can be audited (infra/drill/src/k6/parse.ts turns it into the drill's records).
//
// Every request is tagged {service, op}; writes also carry wid (the idempotency key / client message
// id / user name the audit reads back). After each write one check is recorded with tags
// {service, op, wid, served_by, err, d_*}: which region answered (x-served-by), the error code from
// the body, and what the audit needs to find the write again (d_from, d_to, d_amount, d_room).
// Routes and bodies are the services' (services/*/src/routes.ts, schemas.ts).
//
// ES2015 only, and no script variable named K6_* (k6 reads those as its own options): see
// loadtests/README.md.
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
  if (!m || !(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(m[1]) || composeHosts.indexOf(m[1]) !== -1)) {
    fail(
      name +
        ' must be http://127.x.y.z:port (lab) or http://' +
        composeHosts[0] +
        ':port (compose), got ' +
        url
    );
  }
  return url.replace(/\/$/, '');
}

export function routerUrl() {
  return allowedUrl('ROUTER_URL', __ENV.ROUTER_URL || 'http://127.0.0.2:8080', ['router']);
}

export function uuidv4() {
  const b = new Uint8Array(crypto.randomBytes(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.prototype.map.call(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A fresh headers object (ES2015 has no object spread). */
function headers(extra) {
  const out = { 'content-type': 'application/json' };
  Object.keys(extra || {}).forEach((k) => {
    out[k] = extra[k];
  });
  return out;
}

// Business answers are not failures: 409 = insufficient funds / username taken.
const EXPECT_2XX = http.expectedStatuses({ min: 200, max: 299 });
const EXPECT_2XX_OR_409 = http.expectedStatuses({ min: 200, max: 299 }, 409);
const TIMEOUT = __ENV.LOAD_REQUEST_TIMEOUT || '5s';

function errorCode(res) {
  if (res.status === 0) return res.error_code ? `K6_ERR_${res.error_code}` : 'NO_RESPONSE';
  try {
    const body = res.json();
    // biome-ignore lint/complexity/useOptionalChain: ES2015 only (k6 v0.48), see loadtests/README.md
    return body && body.error && typeof body.error.code === 'string' ? body.error.code : `HTTP_${res.status}`;
  } catch (_) {
    return `HTTP_${res.status}`;
  }
}

function recordWrite(res, service, op, wid, detail, expected) {
  const tags = { service: service, op: op, wid: wid, served_by: res.headers['X-Served-By'] || 'none' };
  if (!expected(res)) tags.err = errorCode(res);
  Object.keys(detail).forEach((k) => {
    tags[`d_${k}`] = String(detail[k]);
  });
  const checks = {};
  checks[`${op} acknowledged`] = (r) => r.status >= 200 && r.status < 300;
  check(res, checks, tags);
}

const isOk = (res) => res.status >= 200 && res.status < 300;
const isOkOr409 = (res) => isOk(res) || res.status === 409;

function iteration() {
  return exec.scenario.iterationInTest;
}

// ----- setup ---------------------------------------------------------------------------------------

export const ACCOUNTS = Number(__ENV.LOAD_ACCOUNTS || 20);
export const USERS = Number(__ENV.LOAD_USERS || 8);
export const ROOMS = ['general', 'ops', 'random'];
const INITIAL_BALANCE = 1000000;

function signIn(base, username, password, tags) {
  return http.post(`${base}/login/sessions`, JSON.stringify({ username: username, password: password }), {
    headers: headers(),
    tags: tags,
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX,
  });
}

/**
 * USERS users (sign-ins go round-robin over them, within login's per-user limit), plus payments
 * accounts owned by the first when an admin URL is given (the seed API lives on the payments cell,
 * not behind the router; the drill seeds its own accounts otherwise).
 */
export function setupLab() {
  const base = routerUrl();
  const runId = uuidv4().slice(0, 8);
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const username = `k6-${runId}-u${i}`;
    const password = `k6-password-${uuidv4()}`;
    const creds = JSON.stringify({ username: username, password: password });
    const signup = http.post(`${base}/login/users`, creds, {
      headers: headers(),
      tags: { service: 'login', op: 'signup', wid: username },
    });
    if (signup.status !== 201) fail(`setup: sign-up answered ${signup.status} ${signup.body}`);
    const signin = signIn(base, username, password, { service: 'login', op: 'signin' });
    if (signin.status !== 201) fail(`setup: sign-in answered ${signin.status} ${signin.body}`);
    users.push({
      id: signup.json('id'),
      username: username,
      password: password,
      accessToken: signin.json('accessToken'),
    });
  }

  if (__ENV.PAYMENTS_ADMIN_URL && __ENV.ADMIN_TOKEN) {
    // Transfers are allowed only from the caller's own accounts: the first user owns them all.
    const accounts = [];
    for (let i = 0; i < ACCOUNTS; i++)
      accounts.push({ id: `k6-acc-${i}`, owner: users[0].id, balance: INITIAL_BALANCE });
    const adminUrl = allowedUrl('PAYMENTS_ADMIN_URL', __ENV.PAYMENTS_ADMIN_URL, [
      'payments-dc-a-app',
      'payments-dc-b-app',
    ]);
    const seeded = http.post(`${adminUrl}/admin/seed/accounts`, JSON.stringify({ accounts: accounts }), {
      headers: headers({ authorization: `Bearer ${__ENV.ADMIN_TOKEN}` }),
      tags: { service: 'payments', op: 'seed' },
    });
    if (seeded.status >= 300) fail(`setup: seeding accounts answered ${seeded.status}`);
  }
  return { base: base, runId: runId, users: users };
}

// ----- one function per op (each is its own scenario: loadtests/lib/plan.js) ----------------------

const owner = (ctx) => ctx.users[0];
const auth = (user) => ({ authorization: `Bearer ${user.accessToken}` });

export function signin(ctx) {
  const user = ctx.users[iteration() % ctx.users.length];
  signIn(ctx.base, user.username, user.password, { service: 'login', op: 'signin' });
}

export function me(ctx) {
  const user = ctx.users[iteration() % ctx.users.length];
  http.get(`${ctx.base}/login/me`, {
    headers: auth(user),
    tags: { service: 'login', op: 'me' },
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX,
  });
}

export function signup(ctx) {
  const wid = `k6-${ctx.runId}-s${iteration()}`.slice(0, 32); // the user name is the write id
  const res = http.post(
    `${ctx.base}/login/users`,
    JSON.stringify({ username: wid, password: `pw-${uuidv4()}` }),
    {
      headers: headers(),
      tags: { service: 'login', op: 'signup', wid: wid },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX_OR_409,
    }
  );
  recordWrite(res, 'login', 'signup', wid, {}, isOkOr409);
}

export function balance(ctx) {
  const id = `k6-acc-${Math.floor(Math.random() * ACCOUNTS)}`;
  http.get(`${ctx.base}/payments/accounts/${id}`, {
    headers: auth(owner(ctx)),
    tags: { service: 'payments', op: 'balance' },
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX,
  });
}

export function transfer(ctx) {
  const from = Math.floor(Math.random() * ACCOUNTS);
  const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
  const amount = 1 + Math.floor(Math.random() * 100);
  const wid = `${ctx.runId}-t${iteration()}`;
  const detail = { from: `k6-acc-${from}`, to: `k6-acc-${to}`, amount: amount };
  const res = http.post(`${ctx.base}/payments/transfers`, JSON.stringify(detail), {
    headers: headers({ authorization: `Bearer ${owner(ctx).accessToken}`, 'idempotency-key': wid }),
    tags: { service: 'payments', op: 'transfer', wid: wid },
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX_OR_409,
  });
  recordWrite(res, 'payments', 'transfer', wid, detail, isOkOr409);
}

export function read(ctx) {
  const room = ROOMS[Math.floor(Math.random() * ROOMS.length)];
  http.get(`${ctx.base}/messaging/rooms/${room}/messages?limit=20`, {
    headers: auth(owner(ctx)),
    tags: { service: 'messaging', op: 'read' },
    timeout: TIMEOUT,
    responseCallback: EXPECT_2XX,
  });
}

export function send(ctx) {
  const room = ROOMS[Math.floor(Math.random() * ROOMS.length)];
  const wid = uuidv4(); // the client-generated message id: retries are idempotent on it
  const res = http.post(
    `${ctx.base}/messaging/rooms/${room}/messages`,
    JSON.stringify({ id: wid, body: `k6 ${ctx.runId}` }),
    {
      headers: headers(auth(owner(ctx))),
      tags: { service: 'messaging', op: 'send', wid: wid },
      timeout: TIMEOUT,
      responseCallback: EXPECT_2XX,
    }
  );
  recordWrite(res, 'messaging', 'send', wid, { room: room }, isOk);
}
