// `npm run drill -- [scenario] [options]`: runs one drill, prints the scorecard, exits 0 only on pass.
// On the local backend it starts the lab when none is running and stops it afterwards.
import { readFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensurePrerequisites,
  LabClient,
  portsFromEnv,
  startLab,
  stopLab,
  subnetFromEnv,
} from '@failover-lab/lab';
import { ComposeBackend } from './backends/compose';
import { composeSettings } from './backends/compose-settings';
import { LocalBackend } from './backends/local';
import { cellQuery } from './backends/local-cells';
import { renderComparison, runActiveActiveComparison } from './compare/active-active';
import type { ArmLab, ArmSetup } from './comparisons/arm-lab';
import { runControlPlaneComparison } from './comparisons/control-plane';
import { renderComparisonScorecard } from './comparisons/markdown';
import { runSyncAsyncComparison } from './comparisons/sync-async';
import { assertK6Installed } from './load/k6-runner';
import { parseCli, USAGE, UsageError } from './options';
import { progressPrinter } from './progress';
import { renderScorecard } from './report/scorecard';
import { type DrillEnvironment, runDrill } from './run';
import { renderSweepTable } from './sweep/analysis';
import { assertStressInstalled, runSweep } from './sweep/run';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv[0] === 'active-active') return activeActiveComparison(argv.slice(1));
  const options = parseCli(argv);
  if (options.load === 'k6') await assertK6Installed();
  if (!options.outGiven) options.outDir = path.join(REPO_ROOT, options.outDir);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (options.comparison !== null) return comparison(options, log);
  return singleDrill(options, log);
}

/**
 * One drill. Every line it logs carries the seconds since the CLI began (`[  9.3 s]`), so one run's
 * wall time can be split into the lab's start, setup, warm-up, load, audit, report and stop.
 */
async function singleDrill(options: ReturnType<typeof parseCli>, plainLog: (line: string) => void) {
  const log = (line: string) => plainLog(`[${elapsedSeconds().padStart(5)} s] ${line}`);
  const { env, cleanup, startedHere } =
    options.backend === 'local'
      ? await localEnvironment(log)
      : { ...composeEnvironment(), startedHere: false };
  // A lab started for this drill is stopped anyway; one that was running is left healthy again.
  options.resetAfter = !startedHere;
  const printer = progressPrinter();
  // Ctrl-C must not leave a lab this drill started running in the background.
  process.once('SIGINT', () => {
    printer.done();
    log('interrupted: cleaning up');
    cleanup().finally(() => process.exit(130));
  });
  try {
    const report = await runDrill(options, env, {
      log: (line) => {
        printer.done();
        log(line);
      },
      progress: printer.update,
    });
    printer.done();
    process.stdout.write(renderScorecard(report, path.relative(process.cwd(), options.outDir) || '.'));
    return report.verdict === 'pass' ? 0 : 1;
  } finally {
    await cleanup();
    log('done');
  }
}

/** Seconds since this process began (Node's own clock origin), one decimal. */
const elapsedSeconds = () => (performance.now() / 1000).toFixed(1);

/**
 * A comparison: each arm in a lab of its own (the control plane's placement and the replication modes
 * are chosen at `up`), in a fresh temp state dir, on LAB_SUBNET when set (else a free test subnet),
 * wiped after the arm.
 */
async function comparison(
  options: ReturnType<typeof parseCli>,
  log: (line: string) => void,
): Promise<number> {
  ensurePrerequisites(log);
  let current: LabClient | null = null;
  process.once('SIGINT', () => {
    log('interrupted: stopping the arm lab');
    (current ? stopLab(current, { wipe: true }) : Promise.resolve()).finally(() => process.exit(130));
  });
  const startArm = async (setup: ArmSetup): Promise<ArmLab> => {
    const started = Date.now();
    const client = await startLab({
      ...(process.env.LAB_SUBNET ? { subnet: subnetFromEnv() } : {}),
      ports: portsFromEnv(),
      controlPlane: setup.controlPlane,
      ...(setup.replication ? { replication: setup.replication } : {}),
      ...(setup.probe ? { probe: setup.probe } : {}),
      onProgress: (l) => log(`  lab: ${l}`),
    });
    current = client;
    log(`lab ${JSON.stringify(setup)} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return {
      env: labEnvironment(client, client.stateDir),
      keepLogs: (dest) => cp(path.join(client.stateDir, 'logs'), dest, { recursive: true }),
      stop: async () => {
        await stopLab(client, { wipe: true });
        current = null;
      },
    };
  };
  if (options.comparison === 'sweep') {
    if (options.stressCpus > 0) assertStressInstalled();
    const sweep = await runSweep(
      { drill: options, points: options.points, runs: options.runs, stressCpus: options.stressCpus },
      startArm,
      { log },
    );
    process.stdout.write(
      `\n${renderSweepTable(sweep)}\nreport: ${path.relative(process.cwd(), options.outDir) || '.'}/sweep.md\n`,
    );
    // a measurement, not a verdict: it succeeds when every point was measured
    return 0;
  }
  const report =
    options.comparison === 'control-plane'
      ? await runControlPlaneComparison({ drill: options, watchMs: options.watchMs }, startArm, { log })
      : await runSyncAsyncComparison(options, startArm, { log });
  process.stdout.write(
    renderComparisonScorecard(report, path.relative(process.cwd(), options.outDir) || '.'),
  );
  return report.verdict === 'pass' ? 0 : 1;
}

/** The secrets a lab wrote at its start (0600 in its state dir): the router's admin token, the app role's password. */
function labSecrets(stateDir: string): { adminToken: string; appPassword: string } {
  return JSON.parse(readFileSync(path.join(stateDir, 'secrets.json'), 'utf8')) as {
    adminToken: string;
    appPassword: string;
  };
}

/** The drill's view of a running lab: its local backend, router, Prometheus and admin token. */
function labEnvironment(client: LabClient, stateDir: string): DrillEnvironment {
  const secrets = labSecrets(stateDir);
  const topo = client.topo;
  return {
    backend: new LocalBackend(client, {
      topo,
      adminToken: secrets.adminToken,
      appPassword: secrets.appPassword,
    }),
    routerUrl: topo.edge.routerUrl,
    prometheusUrl: topo.edge.prometheusUrl,
    adminToken: secrets.adminToken,
  };
}

/** The lab from LAB_STATE_DIR (default .lab/): used if running, else started here and stopped after. */
async function localEnvironment(
  log: (line: string) => void,
): Promise<{ env: DrillEnvironment; cleanup: () => Promise<void>; startedHere: boolean }> {
  const stateDir = path.resolve(process.env.LAB_STATE_DIR || path.join(REPO_ROOT, '.lab'));
  let client = await runningLab(stateDir);
  let startedHere = false;
  if (!client) {
    // The same check (and, as root on Debian, install) as `npm run lab -- up`: a first drill on a
    // fresh machine must not fail later with an empty "did not come up".
    ensurePrerequisites(log);
    log(`no lab running in ${stateDir}: starting one`);
    const started = Date.now();
    client = await startLab({
      stateDir,
      subnet: subnetFromEnv(),
      ports: portsFromEnv(),
      onProgress: (l) => log(`  lab: ${l}`),
    });
    startedHere = true;
    log(`lab ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const env = labEnvironment(client, stateDir);
  return {
    env,
    startedHere,
    cleanup: async () => {
      if (!startedHere) return;
      const stopping = Date.now();
      await stopLab(client);
      log(`lab stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    },
  };
}

/**
 * `drill active-active`: both arms on labs of their own (under drill-out/, wiped before and after),
 * on LAB_SUBNET, one after the other. Never touches the lab in LAB_STATE_DIR.
 */
async function activeActiveComparison(argv: string[]): Promise<number> {
  if (argv.includes('--backend')) throw new UsageError('active-active runs on the local lab only');
  const options = parseCli(['region-kill', ...argv]);
  const outDir = options.outGiven
    ? options.outDir
    : path.join(REPO_ROOT, options.outDir.replace('region-kill-', 'active-active-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  ensurePrerequisites(log);
  const printer = progressPrinter();
  let current: string | null = null;
  process.once('SIGINT', () => {
    printer.done();
    log('interrupted: cleaning up');
    (current ? stopLab(current, { wipe: true }) : Promise.resolve()).finally(() => process.exit(130));
  });
  const report = await runActiveActiveComparison(
    options,
    outDir,
    async (topology, run) => {
      const stateDir = path.join(outDir, `lab-${topology}`);
      current = stateDir;
      await stopLab(stateDir, { wipe: true });
      const started = Date.now();
      const client = await startLab({
        stateDir,
        subnet: subnetFromEnv(),
        ports: portsFromEnv(),
        messagingTopology: topology,
        onProgress: (l) => log(`  lab: ${l}`),
      });
      log(`lab (${topology}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      try {
        return await run({
          env: labEnvironment(client, stateDir),
          query: cellQuery(client.topo, labSecrets(stateDir).appPassword),
          quarantinedRows: async () =>
            ((await client.status()).quarantine ?? [])
              .filter((q) => q.service === 'messaging')
              .reduce((n, q) => n + q.rows, 0),
        });
      } finally {
        printer.done();
        await stopLab(stateDir, { wipe: true });
        current = null;
      }
    },
    (line) => {
      printer.done();
      log(line);
    },
  );
  process.stdout.write(
    `${renderComparison(report)}\nreports in ${path.relative(process.cwd(), outDir) || '.'}\n`,
  );
  return report.verdict === 'pass' ? 0 : 1;
}

async function runningLab(stateDir: string): Promise<LabClient | null> {
  try {
    const client = LabClient.forStateDir(stateDir);
    return (await client.isReady()) ? client : null;
  } catch {
    return null;
  }
}

/**
 * docker compose: the router and Prometheus as published by docker-compose.yml; the cells are reached
 * through `docker exec` (see README, "Contract with docker-compose.yml"). Secrets and addresses as
 * composeSettings() finds them.
 */
function composeEnvironment(): { env: DrillEnvironment; cleanup: () => Promise<void> } {
  const settings = composeSettings(process.env, REPO_ROOT);
  return {
    env: {
      backend: new ComposeBackend(
        {
          adminToken: settings.adminToken,
          appPassword: settings.appPassword,
          ...(settings.linksToken ? { linksToken: settings.linksToken } : {}),
        },
        settings.project,
        undefined,
        settings.linksUrl,
      ),
      routerUrl: settings.routerUrl,
      prometheusUrl: settings.prometheusUrl,
      adminToken: settings.adminToken,
    },
    cleanup: async () => {},
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`drill: ${err.message}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
    process.exitCode = 2;
  },
);
