// Every handler runs inside a span, so the spans the service and the kit make (db.transaction) nest
// under the request. Registered before any route: it wraps the handlers of routes added after it.
import type { Tracer } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { getTracer, inSpan, startTracing } from '../../tracing';

declare module 'fastify' {
  interface FastifyInstance {
    tracer: Tracer;
  }
}

export const tracingPlugin = fp<{ service: string; otlpEndpoint?: string }>(
  async (app, { service, otlpEndpoint }) => {
    startTracing(otlpEndpoint, service);
    const tracer = getTracer(service);
    app.decorate('tracer', tracer);
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      const spanName = `${route.method} ${route.url}`;
      route.handler = function traced(this: FastifyInstance, request, reply) {
        return inSpan(tracer, spanName, async () => handler.call(this, request, reply));
      };
    });
  },
  { name: 'cell-tracing' },
);
