import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index';

const jwk = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  kid: 'k1',
  alg: 'EdDSA',
};
const good = {
  SERVICE_NAME: 'payments',
  REGION: 'dc-a',
  HOST: '127.0.1.2',
  PORT: '3000',
  DATABASE_URL: 'postgres://app:pw@127.0.1.2:5432/payments',
  REDIS_URL: 'redis://127.0.1.2:6379',
  ADMIN_TOKEN: 'a'.repeat(32),
  JWT_JWKS: JSON.stringify({ keys: [jwk] }),
};

describe('loadConfig', () => {
  it('reads a complete environment', () => {
    const config = loadConfig(good);
    expect(config).toMatchObject({ service: 'payments', region: 'dc-a', port: 3000, logLevel: 'info' });
    expect(config.jwks.keys[0]!.kid).toBe('k1');
  });

  it('lists every missing variable in one error', () => {
    try {
      loadConfig({});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      for (const name of [
        'SERVICE_NAME',
        'REGION',
        'HOST',
        'PORT',
        'DATABASE_URL',
        'REDIS_URL',
        'ADMIN_TOKEN',
        'JWT_JWKS',
      ]) {
        expect(message).toContain(name);
      }
    }
  });

  it('rejects invalid values, each named, without echoing secrets', () => {
    const bad = {
      ...good,
      REGION: 'dc-z',
      HOST: '192.0.2.1',
      PORT: '70000',
      ADMIN_TOKEN: 'short-secret',
      JWT_JWKS: '{"keys":[{"kty":"RSA","kid":"x"}]}',
      LOG_LEVEL: 'loud',
    };
    const err = (() => {
      try {
        loadConfig(bad);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems).toHaveLength(6);
    expect(err.message).not.toContain('short-secret');
  });

  it('requires the signing key for login only', () => {
    expect(() => loadConfig({ ...good, SERVICE_NAME: 'login' })).toThrow(/JWT_SIGNING_KEY/);
    expect(() => loadConfig({ ...good, SERVICE_NAME: 'messaging' })).not.toThrow();
  });

  it('strips private members from the verification key set', () => {
    const config = loadConfig({ ...good, JWT_JWKS: JSON.stringify({ keys: [{ ...jwk, d: 'secret' }] }) });
    expect(config.jwks.keys[0]).not.toHaveProperty('d');
  });

  it('TRUSTED_PROXIES: empty by default, a list of IPs/CIDRs/host names, anything else refused', () => {
    expect(loadConfig(good).trustedProxies).toEqual([]);
    expect(
      loadConfig({ ...good, TRUSTED_PROXIES: ' 127.0.0.1, 127.5.0.0/16,::1, router,edge-1.lab ' })
        .trustedProxies,
    ).toEqual(['127.0.0.1', '127.5.0.0/16', '::1', 'router', 'edge-1.lab']);
    for (const bad of [
      'router:8080',
      'http://router',
      '-router',
      'router/24',
      '127.0.0.1/33',
      '127.0.0.1/8/1',
      '999.1.1.1',
      '127.0.0.1,no_pe',
    ]) {
      expect(() => loadConfig({ ...good, TRUSTED_PROXIES: bad }), bad).toThrow(/TRUSTED_PROXIES must be/);
    }
  });
});
