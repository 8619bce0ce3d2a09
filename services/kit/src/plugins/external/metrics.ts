// prom-client metrics: the request histogram for every route, the cell's role/epoch/lag gauges, and
// GET /metrics. Services add their own counters through app.metrics.
import fp from 'fastify-plugin';
import { type CellMetrics, createMetrics } from '../../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: CellMetrics;
  }
}

export const metricsPlugin = fp(
  async (app) => {
    const metrics = createMetrics(app.cell);
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  },
  { name: 'cell-metrics', dependencies: ['cell-role'] },
);
