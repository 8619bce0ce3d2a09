// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave the process as OTLP/HTTP JSON (own file: the
// tracer provider is process-global).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { afterAll, expect, it } from 'vitest';
import { startTracing } from '../src/tracing';

const received: { url: string; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    received.push({ url: req.url ?? '', body });
    res.writeHead(200).end('{}');
  });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

it('without an endpoint spans are no-ops (nothing registered, nothing sent)', async () => {
  const shutdown = startTracing(undefined, 'payments');
  const span = trace.getTracer('test').startSpan('unexported');
  expect(span.isRecording()).toBe(false);
  span.end();
  await shutdown();
  expect(received).toHaveLength(0);
});

it('exports spans with parent links to <endpoint>/v1/traces', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const shutdown = startTracing(`http://127.0.0.1:${port}`, 'payments');
  const tracer = trace.getTracer('test');
  tracer.startActiveSpan('POST /payments/transfers', (parent) => {
    tracer.startSpan('db.transaction').end();
    parent.setAttribute('http.status_code', 201);
    parent.end();
  });
  await shutdown(); // flushes
  expect(received).toHaveLength(1);
  expect(received[0]!.url).toBe('/v1/traces');
  const payload = JSON.parse(received[0]!.body);
  const spans = payload.resourceSpans[0].scopeSpans[0].spans as {
    name: string;
    spanId: string;
    parentSpanId?: string;
  }[];
  const parent = spans.find((s) => s.name === 'POST /payments/transfers')!;
  const child = spans.find((s) => s.name === 'db.transaction')!;
  expect(child.parentSpanId).toBe(parent.spanId);
  expect(payload.resourceSpans[0].resource.attributes).toContainEqual({
    key: 'service.name',
    value: { stringValue: 'payments' },
  });
});
