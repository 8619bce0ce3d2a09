// The fence holds in the data tier, not only in the app's memory: after POST /admin/fence no path can
// commit on the node — a direct caller with the app's credentials, a restarted app — until a
// promotion at an epoch at least the fence's. A fence older than the cell's epoch is refused.

import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { fenceRig } from './fixtures/fence-rig';

const rig = fenceRig('fence-test');
const { write, directWrite, autoConf } = rig;
const adminPost = (app: FastifyInstance, url: string, epoch: number) =>
  app.inject({ method: 'POST', url, headers: rig.adminHeaders(), payload: { epoch } });

describe('a durable fence', () => {
  it('revokes the app role’s writes and leaves the epoch in the data directory', async () => {
    expect((await write(rig.cell)).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
    const res = await adminPost(rig.cell, '/admin/fence', 1);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ fenced: true, epoch: 1, marker: true, grantsRevoked: true });
    expect(await directWrite()).toBe('42501'); // insufficient_privilege
    expect(autoConf()).toMatch(/^failover_lab\.fenced_epoch = '1'$/m);
  });

  it('a restarted app starts fenced: it reads the fence from its Postgres and writes nothing', async () => {
    await rig.cell.close();
    rig.cell = await rig.build();
    const ready = (await rig.cell.inject('/health/ready')).json();
    expect(ready).toMatchObject({ role: 'fenced', fenced: true, epoch: 0 });
    const res = await write(rig.cell);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
  });

  it('a promotion below the fence epoch is refused; one at it restores the writes', async () => {
    const below = await adminPost(rig.cell, '/admin/promote', 0);
    expect(below.statusCode).toBe(409);
    expect(below.json().error.code).toBe('ADMIN_ERR_STALE_EPOCH');
    expect(await directWrite()).toBe('42501');
    const at = await adminPost(rig.cell, '/admin/promote', 1);
    expect(at.statusCode, at.body).toBe(200);
    expect(await directWrite()).toBe('committed');
    expect((await write(rig.cell)).statusCode).toBe(201);
    expect(autoConf()).not.toMatch(/fenced_epoch/);
    // still unfenced after a few role refreshes (a reload reaches the pool's sessions a moment later)
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await rig.cell.inject('/health/ready')).json()).toMatchObject({ role: 'primary', fenced: false });
  });

  it('a fence with an epoch older than the cell’s is refused with 409 and changes nothing', async () => {
    const res = await adminPost(rig.cell, '/admin/fence', 0);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('ADMIN_ERR_STALE_EPOCH');
    expect((await write(rig.cell)).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
  });
});
