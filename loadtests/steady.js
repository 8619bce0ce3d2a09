// Steady load through the router with SLO thresholds: run it on a healthy lab to see the baseline
// (and to check a change did not cost the SLOs). k6 ≥ 0.48; commands in loadtests/README.md.
//   LOAD_RATE      requests per second, all services together, a whole number (default 40)
//   LOAD_DURATION  default 60s
//   LOAD_USERS     users sign-ins go round-robin over (default 8)
//   ROUTER_URL     default http://127.0.0.2:8080 (lab); http://router:8080 inside compose
import { balance, me, read, send, setupLab, signin, signup, transfer, USERS } from './lib/failover-lab.js';
import { loginLimitProblem, scenariosFor } from './lib/plan.js';

const RATE = Number(__ENV.LOAD_RATE || 40);
const DURATION = __ENV.LOAD_DURATION || '60s';
const problem = loginLimitProblem(RATE, USERS);
if (problem) throw new Error(problem);

// SLOs, per service: 99.9 % of requests succeed, p99 under 250 ms. A breach fails the run (exit 99).
const SLO = { failedRate: 0.001, p99Ms: 250 };
const thresholds = { dropped_iterations: ['count==0'] };
['login', 'payments', 'messaging'].forEach((service) => {
  thresholds[`http_req_failed{service:${service}}`] = [`rate<${SLO.failedRate}`];
  thresholds[`http_req_duration{service:${service}}`] = [`p(99)<${SLO.p99Ms}`];
});

export const options = {
  scenarios: scenariosFor(RATE, DURATION),
  thresholds: thresholds,
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

export const setup = setupLab;
export { balance, me, read, send, signin, signup, transfer };
