// A payments cell pair on a real data tier (Postgres primary + sync standby, Redis + replica).

import { createTestSigner, type TestSigner, testCellConfig } from '@failover-lab/cell-kit/testing';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildPaymentsCell } from '../src/index';

export interface PaymentsFixture {
  tier: TestDataTier;
  signer: TestSigner;
  dcA: FastifyInstance;
  dcB?: FastifyInstance;
  adminHeaders: Record<string, string>;
  tokenFor(sub: string): Promise<string>;
  seed(app: FastifyInstance, accounts: { id: string; owner: string; balance: number }[]): Promise<void>;
  audit(app?: FastifyInstance): Promise<Record<string, number>>;
  transfer(
    app: FastifyInstance,
    sub: string,
    body: unknown,
    key: string | undefined,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  stop(): Promise<void>;
}

export async function startPayments(opts: { dcBApp?: boolean } = {}): Promise<PaymentsFixture> {
  const tier = await startTestDataTier({ service: 'payments', standby: true });
  const signer = await createTestSigner();
  const apps: FastifyInstance[] = [];
  try {
    const configFor = (stores: TestDataTier['primary']) =>
      testCellConfig({
        service: 'payments',
        stores,
        adminToken: tier.secrets.adminToken,
        jwks: signer.jwks,
      });
    const dcA = await buildPaymentsCell(configFor(tier.primary));
    apps.push(dcA);
    const dcB = opts.dcBApp ? await buildPaymentsCell(configFor(tier.standby!)) : undefined;
    if (dcB) apps.push(dcB);
    const adminHeaders = { authorization: `Bearer ${tier.secrets.adminToken}` };
    const tokens = new Map<string, string>();
    const tokenFor = async (sub: string) => {
      if (!tokens.has(sub)) tokens.set(sub, await signer.sign(sub));
      return tokens.get(sub)!;
    };
    return {
      tier,
      signer,
      dcA,
      dcB,
      adminHeaders,
      tokenFor,
      async seed(app, accounts) {
        const res = await app.inject({
          method: 'POST',
          url: '/admin/seed/accounts',
          headers: adminHeaders,
          payload: { accounts },
        });
        if (res.statusCode !== 200) throw new Error(`seed failed: ${res.statusCode} ${res.body}`);
      },
      async audit(app = dcA) {
        const res = await app.inject({ url: '/admin/audit/payments', headers: adminHeaders });
        if (res.statusCode !== 200) throw new Error(`audit failed: ${res.statusCode} ${res.body}`);
        return res.json();
      },
      async transfer(app, sub, body, key, headers = {}) {
        return app.inject({
          method: 'POST',
          url: '/payments/transfers',
          headers: {
            authorization: `Bearer ${await tokenFor(sub)}`,
            ...(key === undefined ? {} : { 'idempotency-key': key }),
            ...headers,
          },
          payload: body as object,
        });
      },
      async stop() {
        await Promise.allSettled(apps.map((a) => a.close()));
        await tier.stop();
      },
    };
  } catch (err) {
    await Promise.allSettled(apps.map((a) => a.close()));
    await tier.stop();
    throw err;
  }
}

export const uniqueKey = (label = 'k') =>
  `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
