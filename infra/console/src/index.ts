// The console's server side, for tests and tools; the page itself is web/.
export { buildConsole, type ConsoleServer, WEB_BUILD_DIR } from './app';
export { type ConsoleConfig, configFromEnv, DEFAULT_CONSOLE_PORT } from './config';
export { listDrills, parseProgressLine } from './drills';
export { activeFaults } from './faults';
export { intervalPoint, parseRouterMetrics, quantileFromBuckets } from './metrics';
