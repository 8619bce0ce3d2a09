// The lab supervisor daemon: spawned detached by `lab up` / startLab(), owns every lab process and
// serves the control API on the edge address. Progress goes to the parent over IPC while it waits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isControlPlanePlacement } from '@failover-lab/contracts';
import { resolveMessagingTopology } from './active-active';
import { createControlServer } from './control-server';
import { LabPaths, stateDirFromEnv } from './paths';
import { writePidFile } from './process';
import { probeOverrides, replicationModes } from './replication';
import { loadOrCreateSecrets } from './secrets';
import { Supervisor } from './supervisor';
import { messagingTopologyFromEnv, portsFromEnv, subnetFromEnv, topology } from './topology';

export type DaemonMessage =
  | { type: 'progress'; line: string }
  | { type: 'ready' }
  | { type: 'failed'; message: string };

const tell = (message: DaemonMessage) => {
  if (process.connected) process.send?.(message);
};
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

async function main() {
  const paths = new LabPaths(stateDirFromEnv());
  let messaging: ReturnType<typeof resolveMessagingTopology>;
  try {
    messaging = resolveMessagingTopology(paths, messagingTopologyFromEnv());
  } catch (err) {
    tell({ type: 'failed', message: (err as Error).message });
    process.exit(1);
  }
  const topo = topology(subnetFromEnv(), portsFromEnv(), messaging);
  const supervisor = new Supervisor(paths, topo, log);
  // (the Supervisor has just created or upgraded secrets.json; this reads it back)
  const { controlToken } = loadOrCreateSecrets(paths.secretsFile);
  let ready = false;
  let exiting = false;

  const shutdown = async (code: number) => {
    if (exiting) return;
    exiting = true;
    log('stopping every lab process');
    await supervisor.stopAll();
    server.close();
    log('stopped');
    process.exit(code);
  };

  const server = createControlServer({
    supervisor,
    isReady: () => ready,
    controlToken,
    down: async () => {
      exiting = true;
      await supervisor.stopAll();
      log('down: stopped every lab process');
      // answer first, then leave
      setTimeout(() => {
        server.close();
        process.exit(0);
      }, 50);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(topo.ports.control, topo.edge.host, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    const message =
      err.code === 'EADDRINUSE'
        ? `control port ${topo.edge.controlUrl} is in use (another lab on subnet ${topo.subnet}?)`
        : err.message;
    tell({ type: 'failed', message });
    log(message);
    process.exit(1);
  });
  writeFileSync(
    join(paths.runDir, 'lab.json'),
    `${JSON.stringify({ subnet: topo.subnet, ports: topo.ports, pid: process.pid }, null, 2)}\n`,
  );
  // lab.json first: whoever finds a live supervisor pid reads it to reach the control API
  writePidFile(paths.supervisorPidFile, process.pid);
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  // The parent lets go of the IPC channel once we are up; that is not a reason to stop.
  process.on('disconnect', () => {});

  log(`supervisor ${process.pid} on ${topo.edge.controlUrl}, state ${paths.stateDir}`);
  try {
    // LAB_SKIP_APPS=1 (startLab({apps: false})): the data tier and Prometheus only; LAB_CONSOLE=1
    // (`lab up`): the console too
    const placement = process.env.LAB_CONTROL_PLANE || 'edge';
    if (!isControlPlanePlacement(placement))
      throw new Error(`LAB_CONTROL_PLANE must be edge, dc-a or dc-b (got ${JSON.stringify(placement)})`);
    const opts = {
      apps: process.env.LAB_SKIP_APPS !== '1',
      console: process.env.LAB_CONSOLE === '1',
      controlPlane: placement,
      replication: replicationModes(process.env.LAB_REPLICATION),
      probe: probeOverrides(process.env.LAB_ROUTER_PROBE),
    };
    await supervisor.up(opts, (line) => {
      log(line);
      tell({ type: 'progress', line });
    });
  } catch (err) {
    const message = (err as Error).message;
    log(`up failed: ${message}`);
    tell({ type: 'failed', message });
    server.close();
    process.exit(1);
  }
  ready = true;
  log('lab ready');
  tell({ type: 'ready' });
}

void main();
