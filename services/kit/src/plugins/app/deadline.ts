// x-request-deadline on every request (deadline.ts): a malformed one is a 400, a passed one refuses
// the write, and withTransaction checks it again right before COMMIT.
import fp from 'fastify-plugin';
import { registerDeadlineScope } from '../../deadline';

export const deadlinePlugin = fp(async (app) => registerDeadlineScope(app, app.errors), {
  name: 'cell-deadline',
  dependencies: ['cell-role'],
});
