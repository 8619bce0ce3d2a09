// Shared setup for the messaging integration tests: a real data tier and messaging cells built on it.

import { createTestSigner, type TestSigner, testCellConfig } from '@failover-lab/cell-kit/testing';
import { type CellStores, startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { buildMessagingCell } from '../src/app';
import type { MessagingRouteOptions } from '../src/routes';

export async function buildTestMessagingCell(
  tier: TestDataTier,
  stores: CellStores,
  signer: TestSigner,
  opts: MessagingRouteOptions = {},
): Promise<FastifyInstance> {
  return buildMessagingCell(
    testCellConfig({
      service: 'messaging',
      stores,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
    }),
    opts,
  );
}

export { createTestSigner, startTestDataTier as startTier };

export async function messageCount(stores: CellStores): Promise<number> {
  const [row] = await stores.query<{ n: string }>('SELECT count(*) AS n FROM messages');
  return Number(row!.n);
}

export const uniqueRoom = (prefix = 'room') =>
  `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** Reads an SSE response body as text as it arrives; `waitFor` resolves once the text matches. */
export function sseReader(body: ReadableStream<Uint8Array>) {
  let text = '';
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted by the test
    }
  })();
  return {
    get text() {
      return text;
    },
    async waitFor(predicate: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(text)) {
        if (Date.now() > deadline) throw new Error(`SSE text never matched; got:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return text;
    },
    pump,
  };
}

/** Parsed `event: message` payloads of an SSE transcript, with their ids. */
export function sseEvents(
  text: string,
): { id: string; data: { id: string; body: string; author: string } }[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: message'))
    .map((block) => {
      const id = /^id: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      return { id, data };
    });
}
