// Load for a failover drill: one constant-arrival-rate scenario per op (open model: requests keep
// arriving at the same rate while a region is dead, so the outage is measured, not hidden by a
// slowed-down client), every request tagged service/op (+ wid for writes) so `--out json` can be
// audited by the drill (infra/drill/src/k6/parse.ts). Kill a region while it runs; commands in
// loadtests/README.md and docs/docker.md.
//   LOAD_RATE      requests per second, all services together, a whole number (default 40)
//   LOAD_DURATION  default 60s
//   LOAD_USERS     users sign-ins go round-robin over (default 8)
//   ROUTER_URL     default http://127.0.0.2:8080 (lab); http://router:8080 inside compose
//   PAYMENTS_ADMIN_URL + ADMIN_TOKEN  optional: seed the k6-acc-* accounts on the payments primary
import { balance, me, read, send, setupLab, signin, signup, transfer, USERS } from './lib/failover-lab.js';
import { loginLimitProblem, scenariosFor } from './lib/plan.js';

const RATE = Number(__ENV.LOAD_RATE || 40);
const DURATION = __ENV.LOAD_DURATION || '60s';
const problem = loginLimitProblem(RATE, USERS);
if (problem) throw new Error(problem);

// The failover SLO, per service: at most 2 % of a 60 s run may fail (≈1.2 s of full outage at a
// constant rate) and p99 stays under 2 s (requests the router holds and retries are slow, not lost).
// These are targets to measure against; the drill's report has the exact RTO and RPO.
const SLO = { failedRate: 0.02, p99Ms: 2000 };
const thresholds = {};
['login', 'payments', 'messaging'].forEach((service) => {
  thresholds[`http_req_failed{service:${service}}`] = [`rate<${SLO.failedRate}`];
  thresholds[`http_req_duration{service:${service}}`] = [`p(99)<${SLO.p99Ms}`];
});

export const options = {
  scenarios: scenariosFor(RATE, DURATION),
  thresholds: thresholds,
  summaryTrendStats: ['avg', 'p(50)', 'p(99)', 'max'],
};

export const setup = setupLab;
export { balance, me, read, send, signin, signup, transfer };
