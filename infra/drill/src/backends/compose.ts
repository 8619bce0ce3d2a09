// docker compose backend: containers are selected by the labels documented in infra/drill/README.md
// (the compose file sets them). The exec is injected so the exact commands are unit-tested here, where
// no Docker engine runs. Commands never go through a shell.
import { execFile } from 'node:child_process';
import type { RegionName } from '@failover-lab/lab';
import { type Backend, describeTarget, type FaultTarget } from './backend';

export const LABEL = {
  region: 'failover-lab.region',
  service: 'failover-lab.service',
  component: 'failover-lab.component',
} as const;

export type Exec = (file: string, args: string[]) => Promise<{ stdout: string }>;

export const execDocker: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve({ stdout });
    });
  });

export function labelFilters(target: FaultTarget): string[] {
  const filters = ['--filter', `label=${LABEL.region}=${target.region}`];
  if (target.service) filters.push('--filter', `label=${LABEL.service}=${target.service}`);
  if (target.component) filters.push('--filter', `label=${LABEL.component}=${target.component}`);
  return filters;
}

export class ComposeBackend implements Backend {
  readonly name = 'compose' as const;

  constructor(private readonly exec: Exec = execDocker) {}

  async kill(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    await this.exec('docker', ['kill', '--signal', 'KILL', ...ids]);
  }

  async freeze(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    await this.exec('docker', ['pause', ...ids]);
  }

  async thaw(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=paused']);
    await this.exec('docker', ['unpause', ...ids]);
  }

  /** Starts the region's stopped containers; their entrypoints rejoin as standby (see README). */
  async restore(region: RegionName): Promise<void> {
    const ids = await this.containers({ region }, ['--filter', 'status=exited']);
    await this.exec('docker', ['start', ...ids]);
  }

  async status(): Promise<unknown> {
    const { stdout } = await this.exec('docker', [
      'ps',
      '--all',
      '--filter',
      `label=${LABEL.region}`,
      '--format',
      '{{json .}}',
    ]);
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  }

  private async containers(target: FaultTarget, extra: string[]): Promise<string[]> {
    const { stdout } = await this.exec('docker', [
      'ps',
      '--all',
      '--quiet',
      ...labelFilters(target),
      ...extra,
    ]);
    const ids = stdout.split(/\s+/).filter((id) => id !== '');
    if (ids.length === 0)
      throw new Error(`no container matches ${describeTarget(target)} (${extra.join(' ')})`);
    return ids;
  }
}
