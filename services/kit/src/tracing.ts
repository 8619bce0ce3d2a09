// OpenTelemetry: the kit and services create spans through @opentelemetry/api; they are no-ops
// unless OTEL_EXPORTER_OTLP_ENDPOINT is set, in which case a NodeTracerProvider ships them with a
// small OTLP/HTTP JSON exporter (the official exporter package is not among our dependencies).
// The exporter never writes to the console; failures are dropped (tracing must not hurt serving).
import { type HrTime, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

type ExportCallback = Parameters<SpanExporter['export']>[1];

/** Runs fn in a new active span that records fn's error, if any, and always ends. */
export function inSpan<T>(tracer: Tracer, name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
const SUCCESS = 0;
const FAILED = 1;

const nanos = (t: HrTime) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

function attributeValue(value: unknown): Record<string, unknown> {
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(attributeValue) } };
  return { stringValue: String(value) };
}

const attributes = (attrs: Record<string, unknown>) =>
  Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([key, value]) => ({ key, value: attributeValue(value) }));

/** Encodes spans as OTLP JSON (opentelemetry-proto ExportTraceServiceRequest). */
export function encodeSpans(spans: ReadableSpan[]): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes(spans[0]?.resource.attributes ?? {}) },
        scopeSpans: [
          {
            scope: { name: spans[0]?.instrumentationScope.name ?? 'failover-lab' },
            spans: spans.map((span) => ({
              traceId: span.spanContext().traceId,
              spanId: span.spanContext().spanId,
              ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
              name: span.name,
              kind: span.kind + 1, // api SpanKind starts at INTERNAL=0, OTLP at INTERNAL=1
              startTimeUnixNano: nanos(span.startTime),
              endTimeUnixNano: nanos(span.endTime),
              attributes: attributes(span.attributes),
              status: {
                code: span.status.code,
                ...(span.status.message ? { message: span.status.message } : {}),
              },
            })),
          },
        ],
      },
    ],
  };
}

class OtlpJsonExporter implements SpanExporter {
  constructor(private readonly url: string) {}
  export(spans: ReadableSpan[], done: ExportCallback): void {
    fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(encodeSpans(spans)),
      signal: AbortSignal.timeout(5_000),
    })
      .then((res) => done({ code: res.ok ? SUCCESS : FAILED } as Parameters<ExportCallback>[0]))
      .catch(() => done({ code: FAILED } as Parameters<ExportCallback>[0]));
  }
  async shutdown(): Promise<void> {}
}

let provider: NodeTracerProvider | undefined;

/** Idempotent; returns a shutdown function that flushes pending spans. */
export function startTracing(endpoint: string | undefined, serviceName: string): () => Promise<void> {
  if (!endpoint || provider) return async () => {};
  const url = `${endpoint.replace(/\/$/, '')}/v1/traces`;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OtlpJsonExporter(url))],
  });
  provider.register();
  return async () => {
    await provider?.shutdown();
    provider = undefined;
  };
}

export const getTracer = (service: string) => trace.getTracer(`failover-lab/${service}`);
