// The load plan of the k6 scripts, kept free of k6 imports so node can load it too (test/loadtests.test.ts
// checks it against the drill's own mix and the login cell's sign-in limits).
//
// ES2015 only (k6 v0.48 compiles scripts with an old Babel): no object spread or rest, numeric
// separators, optional chaining, `??`, exponent operator, async functions or trailing commas in calls.

/**
 * Share of the total rate per op: the drill's built-in mix (infra/drill/src/load/workload.ts MIX).
 * Sign-in and sign-up are rare on purpose: each costs ~0.6 s of scrypt CPU on a 2-core machine, and
 * sign-ins count against the login cell's own limiter (per user name and per client address).
 */
export const MIX = {
  signin: 0.01,
  signup: 0.005,
  me: 0.205,
  transfer: 0.24,
  balance: 0.1,
  send: 0.28,
  read: 0.16,
};

export const SERVICE_OF = {
  signin: 'login',
  signup: 'login',
  me: 'login',
  transfer: 'payments',
  balance: 'payments',
  send: 'messaging',
  read: 'messaging',
};

/**
 * The login cell's default sign-in limits (services/login/src/settings.ts: LOGIN_SIGNIN_LIMIT_PER_USERNAME,
 * LOGIN_SIGNIN_LIMIT_PER_IP, LOGIN_SIGNIN_WINDOW_SECONDS). Every k6 request reaches login from one
 * address (k6's, forwarded by the router), so both limits bind the whole run.
 */
export const LOGIN_LIMITS = { perUsername: 10, perIp: 300, windowSeconds: 60 };

/**
 * Arrivals per minute for each op, integers that add up to exactly `totalPerSecond` × 60 (largest
 * remainder): k6 takes only integer rates, and a total that rounds down per service would offer
 * less load than asked.
 */
export function ratesPerMinute(totalPerSecond) {
  if (!(totalPerSecond > 0) || Math.floor(totalPerSecond) !== totalPerSecond) {
    throw new Error(`the rate must be a whole number of requests per second, got ${totalPerSecond}`);
  }
  const ops = Object.keys(MIX);
  const total = totalPerSecond * 60;
  const exact = ops.map((op) => total * MIX[op]);
  const rates = exact.map(Math.floor);
  let left = total - rates.reduce((a, b) => a + b, 0);
  const byRemainder = ops.map((_, i) => i).sort((a, b) => exact[b] - rates[b] - (exact[a] - rates[a]));
  for (let k = 0; left > 0; k++, left--) rates[byRemainder[k % ops.length]] += 1;
  const out = {};
  ops.forEach((op, i) => {
    out[op] = rates[i];
  });
  return out;
}

/**
 * Why this rate and number of users would trip login's limiter (null when they do not): setup signs
 * every user in once, then sign-ins go round-robin over the users.
 */
export function loginLimitProblem(totalPerSecond, users) {
  const perWindow = (ratesPerMinute(totalPerSecond).signin * LOGIN_LIMITS.windowSeconds) / 60;
  const perUser = Math.ceil(perWindow / users) + 1;
  if (perUser > LOGIN_LIMITS.perUsername) {
    return (
      perUser +
      ' sign-ins per user per ' +
      LOGIN_LIMITS.windowSeconds +
      ' s exceed the per-user limit of ' +
      LOGIN_LIMITS.perUsername +
      ': use more users (LOAD_USERS) or a lower rate'
    );
  }
  if (perWindow + users > LOGIN_LIMITS.perIp) {
    return (
      perWindow +
      users +
      ' sign-ins from one address per ' +
      LOGIN_LIMITS.windowSeconds +
      ' s exceed the per-address limit of ' +
      LOGIN_LIMITS.perIp +
      ': use a lower rate'
    );
  }
  return null;
}

/**
 * One constant-arrival-rate scenario per op (open model: a failing backend does not slow the offered
 * load), named after the op and running the exported function of the same name.
 */
export function scenariosFor(totalPerSecond, duration) {
  const rates = ratesPerMinute(totalPerSecond);
  const scenarios = {};
  Object.keys(rates).forEach((op) => {
    const rate = rates[op];
    if (rate === 0) return;
    const perSecond = rate / 60;
    scenarios[op] = {
      executor: 'constant-arrival-rate',
      exec: op,
      rate: rate,
      timeUnit: '1m',
      duration: duration,
      // A stalled backend holds a VU for up to the request timeout (5 s): size for rate × timeout.
      preAllocatedVUs: Math.ceil(perSecond) + 1,
      maxVUs: Math.ceil(perSecond * 6) + 2,
      tags: { service: SERVICE_OF[op] },
    };
  });
  return scenarios;
}
