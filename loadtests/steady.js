// Steady load through the router with SLO thresholds: run it on a healthy lab to see the baseline
// (and to check a change did not cost the SLOs). k6 ≥ 0.48; commands in loadtests/README.md.
//   K6_RATE      requests per second per service (default 20)
//   K6_DURATION  default 60s
//   ROUTER_URL   default http://127.0.0.1:8080 (lab); http://router:8080 inside compose
import {
  login as loginIteration,
  messaging as messagingIteration,
  payments as paymentsIteration,
  scenariosFor,
  setupLab,
} from './lib/failover-lab.js';

const RATE = Number(__ENV.K6_RATE || 20);
const DURATION = __ENV.K6_DURATION || '60s';

// SLOs, per service: 99.9 % of requests succeed, p99 under 250 ms. A breach fails the run (exit 99).
const SLO = { failedRate: 0.001, p99Ms: 250 };
const thresholds = { dropped_iterations: ['count==0'] };
for (const service of ['login', 'payments', 'messaging']) {
  thresholds[`http_req_failed{service:${service}}`] = [`rate<${SLO.failedRate}`];
  thresholds[`http_req_duration{service:${service}}`] = [`p(99)<${SLO.p99Ms}`];
}

export const options = {
  scenarios: scenariosFor(RATE, DURATION),
  thresholds,
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

export const setup = setupLab;
export const login = loginIteration;
export const payments = paymentsIteration;
export const messaging = messagingIteration;
