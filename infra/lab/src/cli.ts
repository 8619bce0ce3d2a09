// `npm run lab -- <command>`: a thin client of the supervisor daemon (see README.md).
import {
  describeFault,
  FAULT_KINDS,
  FAULTS,
  type Fault,
  type FaultKind,
  type FaultResult,
  faultProblems,
  isServiceTopology,
  SERVICE_TOPOLOGIES,
} from '@failover-lab/contracts';
import { LabClient, LabError } from './client';
import { launchLab, stopLab } from './lab';
import { LabPaths, stateDirFromEnv } from './paths';
import { livePidFromFile } from './process';
import { ensurePrerequisites } from './setup';
import { formatStatus } from './status';
import { portsFromEnv, subnetFromEnv } from './topology';

const USAGE = `usage: npm run lab -- <command>
  setup                       check (and as root on Debian/Ubuntu, install) postgres, redis, prometheus,
                              and chromium for the console's browser tests
  up [--messaging-topology active-passive|active-active]
                              start the lab (warm if .lab/ has data) and wait until it is ready;
                              messaging's topology is chosen at the first up and kept with the state;
                              LAB_CONTROL_PLANE=dc-a places the router, its state and Prometheus inside
                              dc-a, where a kill of dc-a takes them down too (default: edge)
  down [--wipe]               stop every lab process; --wipe also removes all state
  status [--json]             roles, lag and state of every cell and of the edge
  fault <kind> <region> [--service <name>] [--component postgres|redis|app]
                              apply a fault (kinds below) and wait until it has taken hold
  reset <kind> <region> [--service <name>] [--component …]
                              undo it: thaw what was frozen, restore what was killed
  kill <region> [--service <name>] [--component …]   region_kill, or component_kill when narrowed
  freeze <region> | thaw <region> | restore <region>  region_freeze, region_thaw, region_restore
  link <from> <to> <what> [--direction to|from|both] [--service <name>]
                              a fault on the link from <from> (edge, dc-a, dc-b) to <to>; <what> is
                              latency 300ms [--jitter 20ms] | bandwidth 512kbps | loss 5% | partition |
                              reset | heal
  reset                       heal every link fault (regions come back with thaw and restore)

faults:
${FAULT_KINDS.map((kind) => `  ${kind.padEnd(16)} ${FAULTS[kind].summary}`).join('\n')}`;

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

/** `<region> [--service s] [--component c]` as the fault `kind`, checked against the registry. */
function faultFrom(kind: string | undefined, args: string[]): Fault {
  const fault = {
    kind,
    target: {
      region: args[0],
      ...(flag(args, '--service') === undefined ? {} : { service: flag(args, '--service') }),
      ...(flag(args, '--component') === undefined ? {} : { component: flag(args, '--component') }),
    },
  };
  const problems = faultProblems(fault);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return fault as Fault;
}

/** `300ms`, `512kbps`, `5%`: the number, checked against the unit people typed. */
function amount(raw: string | undefined, unit: RegExp, what: string): number {
  const match = raw === undefined ? null : /^(\d+(?:\.\d+)?)\s*([a-z%]*)$/i.exec(raw);
  if (!match || !unit.test(match[2]!))
    throw new UsageError(`${what}: expected a number with its unit, got ${raw ?? 'nothing'}`);
  return Number(match[1]);
}

/** `link <from> <to> <what> [value] [--direction d] [--jitter 20ms] [--service s]` as a link fault. */
function linkFaultFrom(args: string[]): Fault {
  const [from, region, what, value] = args;
  const service = flag(args, '--service');
  const direction = flag(args, '--direction');
  const jitter = flag(args, '--jitter');
  const kinds: Record<string, [FaultKind, () => Record<string, number>]> = {
    latency: [
      'link_latency',
      () => ({
        latency_ms: amount(value, /^(ms)?$/, 'latency'),
        ...(jitter === undefined ? {} : { jitter_ms: amount(jitter, /^(ms)?$/, '--jitter') }),
      }),
    ],
    bandwidth: ['link_bandwidth', () => ({ rate_kbps: amount(value, /^(kbps)?$/, 'bandwidth') })],
    loss: ['link_loss', () => ({ loss_pct: amount(value, /^%?$/, 'loss') })],
    partition: ['link_partition', () => ({})],
    reset: ['link_reset', () => ({})],
    heal: ['link_heal', () => ({})],
  };
  const entry = what === undefined ? undefined : kinds[what];
  if (!entry) throw new UsageError(`link: <what> is one of ${Object.keys(kinds).join(', ')}`);
  const attributes = entry[1]();
  const fault = {
    kind: entry[0],
    target: { from, region, ...(service === undefined ? {} : { service }) },
    ...(direction === undefined ? {} : { direction }),
    ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
  };
  const problems = faultProblems(fault);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return fault as Fault;
}

/** The short verbs people type, as the registry's faults. */
const VERBS: Record<string, (narrowed: boolean) => FaultKind> = {
  kill: (narrowed) => (narrowed ? 'component_kill' : 'region_kill'),
  freeze: () => 'region_freeze',
  thaw: () => 'region_thaw',
  restore: () => 'region_restore',
};

function printResult(result: FaultResult) {
  print(
    `${describeFault(result.fault)}: ${result.affected.join(', ') || 'no process reached'} (${result.ms} ms)`,
  );
  for (const [service, role] of Object.entries(result.roles ?? {})) print(`  ${service}: ${role}`);
}

const print = (line: string) => process.stdout.write(`${line}\n`);

function runningClient(stateDir: string): LabClient {
  if (livePidFromFile(new LabPaths(stateDir).supervisorPidFile) === undefined) {
    throw new LabError('LAB_ERR_NOT_RUNNING', 'the lab is not running: npm run lab -- up', 0);
  }
  return LabClient.forStateDir(stateDir);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const stateDir = stateDirFromEnv();
  switch (command) {
    case 'setup': {
      const found = ensurePrerequisites(print, { testTools: true });
      print(`ok: postgres ${found.postgresBinDir}, redis-server, prometheus, chromium`);
      return 0;
    }
    case 'up': {
      ensurePrerequisites(print);
      const t0 = Date.now();
      print(`lab up: state ${stateDir}`);
      const asked = flag(args, '--messaging-topology');
      if (asked !== undefined && !isServiceTopology(asked))
        throw new UsageError(`--messaging-topology is one of ${SERVICE_TOPOLOGIES.join(', ')}`);
      const { client, started } = await launchLab({
        stateDir,
        subnet: subnetFromEnv(),
        ports: portsFromEnv(),
        ...(asked ? { messagingTopology: asked } : {}),
        console: process.env.LAB_CONSOLE !== '0',
        onProgress: print,
      });
      if (!started) {
        print(`the lab is already running (control ${client.controlUrl}); nothing to do`);
        return 0;
      }
      print(`lab ready in ${Date.now() - t0} ms\n`);
      print(formatStatus(await client.status()));
      return 0;
    }
    case 'down': {
      const { leftovers } = await stopLab(stateDir, { wipe: args.includes('--wipe') });
      if (leftovers.length) print(`killed leftovers from pid files: ${leftovers.join(', ')}`);
      print(args.includes('--wipe') ? `lab down; removed ${stateDir}` : 'lab down');
      return 0;
    }
    case 'status': {
      const status = await runningClient(stateDir).status();
      print(args.includes('--json') ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    }
    case 'link':
      printResult(await runningClient(stateDir).apply(linkFaultFrom(args)));
      return 0;
    case 'reset':
      if (args.length === 0) {
        await runningClient(stateDir).healLinks();
        print('every link healed');
        return 0;
      }
      printResult(await runningClient(stateDir).reset(faultFrom(args[0], args.slice(1))));
      return 0;
    case 'fault': {
      const fault = faultFrom(args[0], args.slice(1));
      const client = runningClient(stateDir);
      printResult(await client.apply(fault));
      return 0;
    }
    case 'kill':
    case 'freeze':
    case 'thaw':
    case 'restore': {
      const narrowed = args.includes('--service') || args.includes('--component');
      printResult(await runningClient(stateDir).apply(faultFrom(VERBS[command]!(narrowed), args)));
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      print(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    else process.stderr.write(`lab: ${err.message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
