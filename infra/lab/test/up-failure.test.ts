// When a component does not come up, `up` fails naming it and its log, and stops what it started.
import { createServer, type Server } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { launchLab, stopLab } from '../src/lab';
import { LabPaths } from '../src/paths';
import { leaseSubnet, type SubnetLease } from '../src/subnet-lease';
import { makeTempStateDir } from '../src/test-data-tier';
import { edgeHost } from '../src/topology';
import { processesMentioning } from './helpers';

const stateDir = makeTempStateDir('flab-upfail-');
let squatter: Server | undefined;
let lease: SubnetLease | undefined;

afterAll(async () => {
  squatter?.close();
  lease?.release();
  await stopLab(stateDir, { wipe: true });
});

it('names the component that failed and its log file, and leaves no process behind', async () => {
  lease = await leaseSubnet();
  const { subnet } = lease;
  // Someone else holds Prometheus' port on the edge address.
  squatter = createServer();
  await new Promise<void>((resolve) => squatter!.listen(9090, edgeHost(subnet), resolve));

  const failure = await launchLab({ stateDir, subnet, apps: false }).then(
    () => undefined,
    (err: Error) => err,
  );
  expect(failure?.message).toMatch(/^prometheus did not come up: .*\(log: .*prometheus\.log\)$/s);
  expect(failure?.message).toContain(new LabPaths(stateDir).log('prometheus'));
  expect(processesMentioning(stateDir)).toEqual([]);
});
