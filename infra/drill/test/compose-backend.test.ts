import { describe, expect, it } from 'vitest';
import { ComposeBackend, type Exec } from '../src/backends/compose';

function recordingExec(answers: Record<string, string>) {
  const calls: string[] = [];
  const exec: Exec = async (file, args) => {
    const command = [file, ...args].join(' ');
    calls.push(command);
    const key = Object.keys(answers).find((prefix) => command.startsWith(prefix));
    return { stdout: key ? answers[key]! : '' };
  };
  return { calls, exec };
}

describe('ComposeBackend', () => {
  it('region kill: SIGKILL every running container of the region, selected by label', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'a1\nb2\nc3\n' });
    await new ComposeBackend(exec).kill({ region: 'dc-a' });
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=running',
      'docker kill --signal KILL a1 b2 c3',
    ]);
  });

  it('db kill: only the payments Postgres container of the region', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'pg1\n' });
    await new ComposeBackend(exec).kill({ region: 'dc-a', service: 'payments', component: 'postgres' });
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter label=failover-lab.service=payments --filter label=failover-lab.component=postgres --filter status=running',
      'docker kill --signal KILL pg1',
    ]);
  });

  it('freeze pauses running containers, thaw unpauses the paused ones, restore starts the exited ones', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'x1 x2' });
    const backend = new ComposeBackend(exec);
    await backend.freeze({ region: 'dc-a' });
    await backend.thaw({ region: 'dc-a' });
    await backend.restore('dc-a');
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=running',
      'docker pause x1 x2',
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=paused',
      'docker unpause x1 x2',
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=exited',
      'docker start x1 x2',
    ]);
  });

  it('app crash: one service app only', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'app9' });
    await new ComposeBackend(exec).kill({ region: 'dc-a', service: 'messaging', component: 'app' });
    expect(calls[0]).toContain(
      '--filter label=failover-lab.service=messaging --filter label=failover-lab.component=app',
    );
    expect(calls[1]).toBe('docker kill --signal KILL app9');
  });

  it('refuses to act when no container matches (a typo must not look like a successful fault)', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': '\n' });
    await expect(new ComposeBackend(exec).kill({ region: 'dc-b' })).rejects.toThrow(
      /no container matches dc-b/,
    );
    expect(calls).toHaveLength(1);
  });

  it('status lists labelled containers as JSON lines', async () => {
    const { exec } = recordingExec({
      'docker ps --all --filter': '{"ID":"a1","State":"running"}\n{"ID":"b2","State":"paused"}\n',
    });
    expect(await new ComposeBackend(exec).status()).toEqual([
      { ID: 'a1', State: 'running' },
      { ID: 'b2', State: 'paused' },
    ]);
  });
});
