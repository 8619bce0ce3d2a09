// The links process's control API (docs/contracts.md "Links"): the lab's fault plug-ins and the
// compose backend apply link faults here. Loopback is shared by every local user, so every route but
// GET /health/live needs the token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { errorBody, FAULTS, type Fault, faultProblems, type LinkFaults } from '@failover-lab/contracts';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Links } from './links';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function buildControl(links: Links, token: string): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 10_000 });
  const expected = digest(token);
  const answer = (): LinkFaults => ({
    faults: links.active(),
    connections: links.connections(),
    forwarding: links.forwarding(),
  });

  app.get('/health/live', async () => ({ state: 'ready', links: links.links.length }));

  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/health/live') return;
    const presented = /^Bearer (\S+)$/i.exec(request.headers.authorization?.trim() ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      return reply
        .code(401)
        .send(errorBody('LINKS_ERR_UNAUTHORIZED', 'send authorization: Bearer <the lab control token>'));
    }
  });

  app.get('/faults', async () => answer());

  app.post('/faults', async (request, reply) => {
    const problems = faultProblems(request.body);
    const fault = request.body as Fault;
    if (problems.length === 0 && FAULTS[fault.kind].scope !== 'link') {
      problems.push(`${fault.kind} is not a link fault`);
    }
    if (problems.length > 0) {
      return reply.code(400).send(errorBody('LINKS_ERR_VALIDATION', problems.join('; ')));
    }
    await links.apply(fault);
    return answer();
  });

  app.post('/reset', async () => {
    await links.healAll();
    return answer();
  });

  return app;
}
