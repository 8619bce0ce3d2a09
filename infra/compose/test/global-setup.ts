// Brings the stack up once for the compose e2e tests and takes everything down after them: an engine
// (started here when none answers, stopped here by PID), the base image (made locally when missing),
// the four images, and docker-compose.yml itself under a project name and loopback address of its own,
// so a second stack on the same engine (a developer's) is never touched. Prints the time of each step.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseSubnet } from '@failover-lab/lab';
import type { TestProject } from 'vitest/node';
import { makeBaseImage } from '../src/base-image';
import { buildImages, REPO_ROOT, runCompose } from '../src/compose-cmd';
import { BASE_IMAGE } from '../src/compose-file';
import { ensureEngine } from '../src/engine';

export interface ComposeStack {
  project: string;
  envFile: string;
  address: string;
  /** the environment every compose and drill command of the tests runs with */
  env: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    composeStack: ComposeStack;
  }
}

const log = (line: string) => process.stdout.write(`compose e2e: ${line}\n`);

export default async function setup(project: TestProject) {
  const timings: [string, number][] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    log(`${name} …`);
    const value = await fn();
    const seconds = (Date.now() - started) / 1000;
    timings.push([name, seconds]);
    log(`${name}: ${seconds.toFixed(1)} s`);
    return value;
  };

  const engine = await step('engine (install + dockerd)', () => ensureEngine(log));
  const lease = await leaseSubnet();
  const dir = mkdtempSync(join(tmpdir(), 'failover-lab-compose-e2e-'));
  const stack: ComposeStack = {
    project: `flab-e2e-${lease.subnet}-${process.pid}`,
    envFile: join(dir, 'compose.env'),
    address: `127.${lease.subnet}.0.1`,
    env: {},
  };
  stack.env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    COMPOSE_PROJECT_NAME: stack.project,
    COMPOSE_ENV_FILE: stack.envFile,
    FAILOVER_LAB_PUBLISH_ADDRESS: stack.address,
    // `up --wait` is compose v2's
    FAILOVER_LAB_COMPOSE: 'docker compose',
  };
  const env = { ...process.env, ...stack.env };

  const teardown = async () => {
    await step('down (containers, networks, volumes)', async () => {
      const code = await runCompose(
        ['--profile', 'load', '--profile', 'grafana', 'down', '-v', '--remove-orphans', '-t', '5'],
        { env, log },
      );
      if (code !== 0) log(`down exited ${code}`);
    }).catch((err: Error) => log(`down failed: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
    lease.release();
    if (engine.startedHere) await step('dockerd stop', () => engine.stop());
    log(`timings: ${timings.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}`);
  };

  try {
    const baseThere = spawnSync('docker', ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore' }).status === 0;
    if (baseThere) log(`${BASE_IMAGE} is present: not made again`);
    else await step(`base image ${BASE_IMAGE} (mmdebstrap + docker import)`, () => makeBaseImage(log));
    // the env file first: compose refuses to parse the file (even to build) without its secrets
    execFileSync(process.execPath, ['--import', 'tsx', 'infra/compose/src/make-env.ts', stack.envFile], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    });
    await step('image builds', () => buildImages(log, env));
    await step('up --wait', async () => {
      const code = await runCompose(['up', '-d', '--wait', '--wait-timeout', '600'], { env, log });
      if (code !== 0) {
        await runCompose(['ps', '-a'], { env, log });
        await runCompose(['logs', '--tail', '30'], { env, log });
        throw new Error(`docker compose up --wait exited ${code}`);
      }
    });
  } catch (err) {
    await teardown();
    throw err;
  }
  project.provide('composeStack', stack);
  return teardown;
}
