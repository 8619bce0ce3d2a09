// TRUSTED_PROXIES host names are resolved at start and re-resolved while the cell runs
// (trusted-proxies.ts); the trust function itself is handed to fastify when the app is made.
import fp from 'fastify-plugin';
import type { ProxyTrust } from '../../trusted-proxies';

export const trustedProxiesPlugin = fp<{ proxyTrust: ProxyTrust }>(
  async (app, { proxyTrust }) => {
    app.addHook('onClose', async () => proxyTrust.stop());
    await proxyTrust.start();
  },
  { name: 'cell-trusted-proxies' },
);
