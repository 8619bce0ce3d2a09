// `npm run lab -- <command>`: a thin client of the supervisor daemon (see README.md).
import { LabClient, LabError } from './client';
import { launchLab, stopLab } from './lab';
import { LabPaths, stateDirFromEnv } from './paths';
import { livePidFromFile } from './process';
import { ensurePrerequisites } from './setup';
import { formatStatus } from './status';
import {
  COMPONENTS,
  type ComponentName,
  portsFromEnv,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
  subnetFromEnv,
} from './topology';

const USAGE = `usage: npm run lab -- <command>
  setup                       check (and as root on Debian/Ubuntu, install) postgres, redis, prometheus,
                              and chromium for the console's browser tests
  up                          start the lab (warm if .lab/ has data) and wait until it is ready
  down [--wipe]               stop every lab process; --wipe also removes all state
  status [--json]             roles, lag and state of every cell and of the edge
  kill <region> [--service <name>] [--component postgres|redis|app]
                              SIGKILL the region's process groups (apps only = a crash, restarted)
  freeze <region> | thaw <region>   SIGSTOP / SIGCONT the region's process groups
  restore <region>            bring a dead or fenced region back as standby of the current primaries`;

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

function choice<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T {
  if (value === undefined || !allowed.includes(value as T)) {
    throw new UsageError(`${what} must be one of ${allowed.join(', ')} (got ${value ?? 'nothing'})`);
  }
  return value as T;
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
      const { client, started } = await launchLab({
        stateDir,
        subnet: subnetFromEnv(),
        ports: portsFromEnv(),
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
    case 'kill':
    case 'freeze':
    case 'thaw':
    case 'restore': {
      const region = choice<RegionName>(args[0], REGIONS, 'region');
      const client = runningClient(stateDir);
      if (command === 'kill') {
        const service = flag(args, '--service');
        const component = flag(args, '--component');
        const result = await client.kill(region, {
          service: service === undefined ? undefined : choice<ServiceName>(service, SERVICES, '--service'),
          component:
            component === undefined ? undefined : choice<ComponentName>(component, COMPONENTS, '--component'),
        });
        print(`killed: ${result.killed.join(', ') || 'nothing was running'}`);
      } else if (command === 'freeze') print(`frozen: ${(await client.freeze(region)).frozen.join(', ')}`);
      else if (command === 'thaw') print(`thawed: ${(await client.thaw(region)).thawed.join(', ')}`);
      else {
        const result = await client.restore(region);
        for (const [service, role] of Object.entries(result.roles)) print(`${service}: ${region} ${role}`);
        print(`restored ${region} in ${result.ms} ms`);
      }
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
