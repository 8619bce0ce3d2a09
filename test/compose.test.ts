// docker-compose.yml: what docker-compose 1.29 validates, plus what it does not notice (undeclared
// networks, published addresses, labels, images, drift from the contract's vocabulary and docs/contracts.md).
// Nothing in this file starts a container: the stack itself runs in infra/compose/test/ (a real engine).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  keepsSyncStandby,
  type LinksConfigFile,
  LinksConfigFileSchema,
  problemsOf,
  REGIONS,
  REPLICATION_MODE,
  SERVICES,
  subscriptionStatement,
} from '@failover-lab/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGE_BUILDS } from '../infra/compose/src/compose-cmd';
import {
  BASE_IMAGE,
  cellAppTargets,
  containerName,
  NODE_IMAGE,
  POSTGRES_IMAGE,
  PROMETHEUS_IMAGE,
  REDIS_IMAGE,
  REQUIRED_SECRETS,
  replicationLinkPort,
} from '../infra/compose/src/compose-file';
import { renderComposeFile, renderLinksConfig, renderRouterConfig } from '../infra/compose/src/render';
import { LINKS_CONTROL_PORT as DRILL_LINKS_CONTROL_PORT } from '../infra/drill/src/backends/compose';
import { parseRouterConfig } from '../infra/router/src/config';
import { loadConfig as loadCellConfig } from '../services/kit/src/config';
import { cellEnvironmentContract } from './helpers/contracts';
import { REPO_ROOT, readRepoFile, repoPath, which } from './helpers/repo';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  networks?: string[] | Record<string, unknown>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
  depends_on?: Record<string, unknown>;
  dns_opt?: string[];
  cpu_shares?: number;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
}

const COMPOSE_TEXT = readRepoFile('docker-compose.yml');
const links = JSON.parse(readRepoFile('infra', 'compose', 'links.json')) as LinksConfigFile;
// docker-compose 1.29 reads YAML 1.1 (PyYAML): parse the same way, so `no` would show up as false.
const compose = parse(COMPOSE_TEXT, { version: '1.1' }) as ComposeFile;
const services = Object.entries(compose.services);
const networksOf = (s: ComposeService): string[] =>
  Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
const cells = services.filter(([, s]) => s.labels?.['failover-lab.service'] !== undefined);
const ofComponent = (component: string) =>
  services.filter(([, s]) => s.labels?.['failover-lab.component'] === component);

// `npm test` installs docker-compose first (pretest: lab setup): missing, it is a failure, not a skip.
const DOCKER_COMPOSE = which('docker-compose');
const dummySecrets = Object.fromEntries(REQUIRED_SECRETS.map((name) => [name, `test-${name.toLowerCase()}`]));

describe('docker-compose (v1.29) config', () => {
  it('docker-compose is installed', () => {
    expect(DOCKER_COMPOSE, 'docker-compose is not on PATH: npm run lab -- setup').toBeTruthy();
  });

  it('passes `docker-compose config -q` with the required secrets set', () => {
    const result = spawnSync(DOCKER_COMPOSE!, ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...dummySecrets },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses to start without any one secret (each is a required `:?` interpolation)', async () => {
    const attempts = REQUIRED_SECRETS.map(
      (missing) =>
        new Promise<{ missing: string; status: number | null; stderr: string }>((resolve) => {
          const env = { PATH: process.env.PATH, ...dummySecrets };
          delete (env as Record<string, string | undefined>)[missing];
          execFile(
            DOCKER_COMPOSE!,
            ['-f', 'docker-compose.yml', 'config', '-q'],
            { cwd: REPO_ROOT, env },
            (error, _stdout, stderr) =>
              resolve({ missing, status: error ? ((error.code as number) ?? 1) : 0, stderr }),
          );
        }),
    );
    for (const { missing, status, stderr } of await Promise.all(attempts)) {
      expect(status, missing).not.toBe(0);
      expect(stderr).toContain(`${missing} is not set`);
    }
  });

  describe('with an env file from make-env.ts', () => {
    let dir: string;
    let routerEnv: Record<string, string> = {};
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'compose-env-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('validates, and the JSON secrets reach the containers intact', () => {
      const envFile = join(dir, 'compose.env');
      execFileSync(process.execPath, ['--import', 'tsx', 'infra/compose/src/make-env.ts', envFile], {
        cwd: REPO_ROOT,
        stdio: 'pipe',
      });
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      const config = execFileSync(
        DOCKER_COMPOSE!,
        ['--env-file', envFile, '-f', 'docker-compose.yml', 'config'],
        {
          cwd: REPO_ROOT,
          env: { PATH: process.env.PATH },
          encoding: 'utf8',
        },
      );
      const resolved = parse(config) as ComposeFile;
      const login = resolved.services[containerName('login', 'dc-a', 'app')]!.environment!;
      const jwks = JSON.parse(login.JWT_JWKS!) as {
        keys: { kid: string; alg: string; crv: string; d?: string }[];
      };
      const signing = JSON.parse(login.JWT_SIGNING_KEY!) as { kid: string; d: string };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ alg: 'EdDSA', crv: 'Ed25519', kid: signing.kid });
      expect(jwks.keys[0]!.d).toBeUndefined(); // the public set never carries the private part
      expect(login.ADMIN_TOKEN!.length).toBeGreaterThanOrEqual(16);

      // The cells' own config loader accepts exactly what compose hands every app.
      for (const [name, s] of Object.entries(resolved.services)) {
        if (s.labels?.['failover-lab.component'] !== 'app') continue;
        const config = loadCellConfig(s.environment!);
        expect(config, name).toMatchObject({
          service: s.labels['failover-lab.service'],
          region: s.labels['failover-lab.region'],
          trustedProxies: ['links'],
        });
      }
      routerEnv = resolved.services.router!.environment!;
    });

    it('an env file made before the console gets its CONSOLE_TOKEN added, nothing else changed; then refuses', () => {
      const envFile = join(dir, 'old.env');
      const current = readFileSync(join(dir, 'compose.env'), 'utf8');
      const old = current.replace(/^CONSOLE_TOKEN=.*\n/m, '');
      writeFileSync(envFile, old, { mode: 0o644 });
      const make = () =>
        spawnSync(process.execPath, ['--import', 'tsx', 'infra/compose/src/make-env.ts', envFile], {
          cwd: REPO_ROOT,
          encoding: 'utf8',
        });
      const first = make();
      expect(first.status, first.stderr).toBe(0);
      const after = readFileSync(envFile, 'utf8');
      expect(after.startsWith(old)).toBe(true);
      expect(after.slice(old.length)).toMatch(/^CONSOLE_TOKEN=[\w-]{32}\n$/);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(first.stdout).not.toContain(after.slice(old.length + 'CONSOLE_TOKEN='.length).trim());
      const second = make();
      expect(second.status).toBe(1);
      expect(readFileSync(envFile, 'utf8')).toBe(after);
    });

    // The router runs in "container" network mode there: listen 0.0.0.0, cells and databases by
    // compose DNS name (in the default loopback mode it refuses exactly this file).
    it('the router accepts the compose router.json (network "container")', () => {
      const raw = JSON.parse(readRepoFile('infra', 'compose', 'router.json')) as Record<string, unknown>;
      const config = parseRouterConfig(raw, routerEnv);
      expect(config.network).toBe('container');
      expect(config.listen.host).toBe('0.0.0.0');
      expect(() => parseRouterConfig({ ...raw, network: 'loopback' }, routerEnv)).toThrow(/127\.x\.y\.z/);
    });
  });
});

describe('docker-compose.yml is generated from the topology', () => {
  it('matches what infra/compose/src/generate.ts writes (no hand edits, no drift)', () => {
    expect(COMPOSE_TEXT).toBe(renderComposeFile());
    expect(readRepoFile('infra', 'compose', 'router.json')).toBe(renderRouterConfig());
    expect(readRepoFile('infra', 'compose', 'router.active-active.json')).toBe(
      renderRouterConfig('active-active'),
    );
    expect(readRepoFile('infra', 'compose', 'links.json')).toBe(renderLinksConfig());
  });

  it("messaging's topology is one env-file variable: apps, both data tiers and the router's config follow it", () => {
    const topology = ['${', 'MESSAGING_TOPOLOGY:-active-passive}'].join(''); // compose's interpolation, literally
    for (const [name, s] of cells) {
      const service = s.labels!['failover-lab.service'];
      const component = s.labels!['failover-lab.component'];
      const own =
        component === 'app' ? s.environment?.MESSAGING_TOPOLOGY : s.environment?.FAILOVER_LAB_TOPOLOGY;
      // only messaging can be active-active (login and payments must not write in two places)
      expect(own, name).toBe(service === 'messaging' ? topology : undefined);
      if (service === 'messaging' && component === 'postgres') {
        const region = s.labels!['failover-lab.region'] as (typeof REGIONS)[number];
        const other = region === 'dc-a' ? 'dc-b' : 'dc-a';
        // the lab's statement (contracts' subscriptionStatement), aimed at the other region's node
        // through the replication link towards it
        expect(s.environment!.FAILOVER_LAB_SUBSCRIPTION_SQL, name).toBe(
          subscriptionStatement(region, {
            host: 'links',
            port: replicationLinkPort('postgres', 'messaging', other),
            passfile: '/var/lib/postgresql/.pgpass',
          }),
        );
      }
    }
    const router = compose.services.router!;
    expect(router.environment!.ROUTER_CONFIG).toBe(`/etc/failover-lab/router.${topology}.json`);
    for (const chosen of ['active-passive', 'active-active'] as const) {
      const file = chosen === 'active-passive' ? 'router.json' : 'router.active-active.json';
      expect(router.volumes).toContain(`./infra/compose/${file}:/etc/failover-lab/router.${chosen}.json:ro`);
      const config = parseRouterConfig(JSON.parse(readRepoFile('infra', 'compose', file)), {
        ADMIN_TOKEN: 'x'.repeat(32),
      });
      expect(config.services.messaging!.topology ?? 'active-passive', file).toBe(chosen);
      expect(config.services.payments!.topology ?? 'active-passive', file).toBe('active-passive');
      expect(config.services.login!.topology ?? 'active-passive', file).toBe('active-passive');
    }
  });

  it('has no top-level `name:` (docker-compose 1.29 rejects it)', () => {
    expect(Object.keys(compose)).not.toContain('name');
  });
});

describe('networks and exposure', () => {
  it('every network a service joins is declared', () => {
    const declared = new Set(Object.keys(compose.networks));
    for (const [name, s] of services) {
      expect(networksOf(s).length, name).toBeGreaterThan(0);
      for (const net of networksOf(s)) expect(declared.has(net), `${name} → ${net}`).toBe(true);
    }
  });

  it('publishes only the router, the console, the links control API, Prometheus and Grafana, on a loopback address (127.0.0.1 unless set)', () => {
    const published = services.filter(([, s]) => (s.ports ?? []).length > 0).map(([n]) => n);
    expect(published.sort()).toEqual(['console', 'grafana', 'links', 'prometheus', 'router']);
    const publishAddress = ['${', 'FAILOVER_LAB_PUBLISH_ADDRESS:-127.0.0.1}'].join(''); // compose's interpolation, literally
    expect(compose.services.links!.ports).toEqual([`${publishAddress}:7071:7071`]);
    for (const [name, s] of services) {
      for (const port of s.ports ?? [])
        expect(port, name).toMatch(/^\$\{FAILOVER_LAB_PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$/);
    }
  });

  it('cells reach only their region, replication joins data stores and the links, the edge holds apps and edge services', () => {
    for (const [name, s] of services) {
      const region = s.labels!['failover-lab.region']!;
      const component = s.labels!['failover-lab.component']!;
      const nets = networksOf(s).sort();
      if (component === 'app') expect(nets, name).toEqual([region, 'edge'].sort());
      else if (component === 'postgres' || component === 'redis')
        expect(nets, name).toEqual([region, 'replication'].sort());
      // the router probes each cell's Postgres through the links container (router.json "postgres"),
      // which reaches it over the replication network; the router itself reaches no cell directly
      else if (component === 'links') expect(nets, name).toEqual(['edge', 'replication']);
      else expect(nets, name).toEqual(['edge']);
    }
  });

  it("the serving path (apps, router, links) waits 1 s, not glibc's 5 s, for a DNS query dockerd dropped; the router and the links outweigh other containers for CPU", () => {
    const serving = [...ofComponent('app'), ...ofComponent('router'), ...ofComponent('links')];
    expect(serving.length).toBe(8);
    for (const [name, s] of serving) expect(s.dns_opt, name).toEqual(['timeout:1', 'attempts:3']);
    const heavy = [...ofComponent('router'), ...ofComponent('links')].map(([, s]) => s);
    for (const s of heavy) expect(s.cpu_shares).toBeGreaterThan(1024);
    for (const [name, s] of services) if (!heavy.includes(s)) expect(s.cpu_shares, name).toBeUndefined();
  });

  it('region networks and the replication link are internal', () => {
    for (const net of [...REGIONS, 'replication'])
      expect(compose.networks[net], net).toEqual({ internal: true });
  });
});

describe('labels the drill selects by', () => {
  const COMPONENTS = new Set([
    'postgres',
    'redis',
    'app',
    'router',
    'links',
    'console',
    'prometheus',
    'grafana',
    'k6',
  ]);

  it('no container mounts the Docker socket: the console on the edge network reads Docker through nothing', () => {
    for (const [name, s] of services)
      for (const volume of (s.volumes ?? []) as (string | { source?: string })[]) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : (volume.source ?? '');
        expect(source, name).not.toMatch(/docker\.sock/);
      }
    expect(compose.services.console!.volumes).toEqual(['./drill-out:/app/drill-out:ro']);
  });

  it('every container has failover-lab.region and failover-lab.component with known values', () => {
    for (const [name, s] of services) {
      expect(s.labels, name).toBeDefined();
      expect([...REGIONS, 'edge'], name).toContain(s.labels!['failover-lab.region']);
      expect(COMPONENTS.has(s.labels!['failover-lab.component']!), name).toBe(true);
    }
  });

  it('cell containers carry failover-lab.service; edge containers do not', () => {
    for (const [name, s] of services) {
      const isCell = s.labels!['failover-lab.region'] !== 'edge';
      if (isCell) expect(SERVICES, name).toContain(s.labels!['failover-lab.service']);
      else expect(s.labels!['failover-lab.service'], name).toBeUndefined();
    }
  });

  it('each of router, links, console, Prometheus, Grafana and k6 appears once on the edge; the upstream images only under profiles', () => {
    for (const component of ['router', 'links', 'console', 'prometheus', 'grafana', 'k6'])
      expect(ofComponent(component), component).toHaveLength(1);
    expect(compose.services.k6!.profiles).toEqual(['load']);
    expect(compose.services.grafana!.profiles).toEqual(['grafana']);
    for (const [name, s] of services)
      if (name !== 'k6' && name !== 'grafana') expect(s.profiles, name).toBeUndefined();
  });
});

describe('topology matches the contract (@failover-lab/contracts)', () => {
  it('the same 6 cells, each with an app, a Postgres and a Redis', () => {
    for (const component of ['app', 'postgres', 'redis']) {
      const pairs = ofComponent(component)
        .map(([, s]) => `${s.labels!['failover-lab.service']}/${s.labels!['failover-lab.region']}`)
        .sort();
      const expected = SERVICES.flatMap((svc) => REGIONS.map((r) => `${svc}/${r}`)).sort();
      expect(pairs, component).toEqual(expected);
    }
    expect(cells).toHaveLength(SERVICES.length * REGIONS.length * 3);
  });

  it('apps get exactly the env var names of docs/contracts.md "Cell environment"', () => {
    const contract = cellEnvironmentContract();
    expect(contract.map((v) => v.name)).toContain('DATABASE_URL'); // the table was found and read
    for (const [name, s] of ofComponent('app')) {
      const service = s.labels!['failover-lab.service']!;
      const keys = Object.keys(s.environment ?? {});
      const allowed = contract.filter((v) => v.onlyFor === null || v.onlyFor === service);
      for (const key of keys)
        expect(
          allowed.map((v) => v.name),
          `${name} sets ${key}`,
        ).toContain(key);
      for (const v of allowed.filter((v) => !v.optional))
        expect(keys, `${name} lacks ${v.name}`).toContain(v.name);
      const env = s.environment!;
      expect(env.SERVICE_NAME).toBe(service);
      expect(env.REGION).toBe(s.labels!['failover-lab.region']);
      expect(env.HOST).toBe('0.0.0.0');
      expect(env.PORT).toBe('3000');
      expect(s.command).toEqual([
        'node',
        '--enable-source-maps',
        `services/${service}/src/server.bundle.mjs`,
      ]);
    }
  });

  it("apps believe x-forwarded-for from the links container only — the router's traffic arrives through it — by its compose DNS name (no pinned subnet)", () => {
    const [linksName, links] = ofComponent('links')[0]!;
    for (const [name, s] of ofComponent('app')) {
      expect(s.environment!.TRUSTED_PROXIES, name).toBe(linksName);
      // the name resolves from the app: Docker's DNS answers service names on a shared network
      expect(
        networksOf(s).filter((n) => networksOf(links).includes(n)),
        name,
      ).toEqual(['edge']);
    }
    // (that the kit accepts the name is checked above, with each app's resolved environment)
    expect(compose.networks.edge).toEqual({});
  });

  it('every cell talks only to its own data stores', () => {
    for (const [name, s] of ofComponent('app')) {
      const service = s.labels!['failover-lab.service'] as (typeof SERVICES)[number];
      const region = s.labels!['failover-lab.region'] as (typeof REGIONS)[number];
      const pg = containerName(service, region, 'postgres');
      const redis = containerName(service, region, 'redis');
      expect(s.environment!.DATABASE_URL, name).toMatch(
        new RegExp(`^postgres://app:\\$\\{APP_DB_PASSWORD:\\?[^}]*\\}@${pg}:5432/${service}$`),
      );
      expect(s.environment!.REDIS_URL, name).toMatch(
        new RegExp(`^redis://:\\$\\{REDIS_PASSWORD:\\?[^}]*\\}@${redis}:6379$`),
      );
      expect(Object.keys(s.depends_on ?? {}).sort(), name).toEqual([pg, redis].sort());
    }
  });

  it('every core image is the project’s own build FROM the one base; only Grafana and k6 are upstream', () => {
    const images = (component: string) => new Set(ofComponent(component).map(([, s]) => s.image));
    expect([...images('app')]).toEqual([NODE_IMAGE]);
    expect(ofComponent('router')[0]![1].image).toBe(NODE_IMAGE);
    expect([...images('postgres')]).toEqual([POSTGRES_IMAGE]);
    expect([...images('redis')]).toEqual([REDIS_IMAGE]);
    expect([...images('prometheus')]).toEqual([PROMETHEUS_IMAGE]);
    const contexts: Record<string, string> = {};
    for (const [name, s] of services) {
      if (name === 'grafana' || name === 'k6') {
        expect(s.build, name).toBeUndefined();
        continue;
      }
      const build = s.build as { context: string; dockerfile: string; args: Record<string, string> };
      expect(build.args, name).toEqual({ BASE_IMAGE });
      const seen = contexts[s.image!];
      if (seen) expect(build.context, `${name}: one context per image`).toBe(seen);
      contexts[s.image!] = build.context;
      // the Dockerfile takes the base from compose only: no default, no other base
      const dockerfile = readRepoFile(build.context, build.dockerfile);
      expect(dockerfile, name).toMatch(/^ARG BASE_IMAGE$/m);
      // a Dockerfile's own ${BASE_IMAGE} reference, as text
      const fromBase = `$${'{'}BASE_IMAGE}`;
      for (const from of dockerfile.matchAll(/^FROM (\S+)/gm))
        expect([fromBase, 'node20'], `${name}: FROM ${from[1]}`).toContain(from[1]);
      expect(dockerfile, `${name}: BuildKit-only syntax breaks the classic builder`).not.toMatch(
        /^# syntax=|--chmod|<<EOF/m,
      );
    }
    expect(Object.keys(contexts).sort()).toEqual(
      [NODE_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE, PROMETHEUS_IMAGE].sort(),
    );
    expect(IMAGE_BUILDS.map((b) => b.image).sort()).toEqual(Object.keys(contexts).sort());
    for (const { image, service } of IMAGE_BUILDS) expect(compose.services[service]!.image).toBe(image);
  });

  it('health checks match readiness: /health/live, pg_isready, redis-cli ping (authenticated, PONG only)', () => {
    const contract = readRepoFile('docs', 'contracts.md');
    expect(contract).toContain('`GET /health/live`');
    for (const [name, s] of ofComponent('app'))
      expect(s.healthcheck!.test.join(' '), name).toContain('/health/live');
    // over TCP: the socket-only setup server of a fresh primary must not count as ready
    for (const [name, s] of ofComponent('postgres'))
      expect(s.healthcheck!.test.slice(0, 4), name).toEqual(['CMD', 'pg_isready', '-h', '127.0.0.1']);
    // redis-cli authenticates with the container's REDISCLI_AUTH, never with -a on the command line
    for (const [name, s] of ofComponent('redis')) {
      expect(s.healthcheck!.test, name).toEqual(['CMD-SHELL', 'timeout 3 redis-cli ping | grep -qx PONG']);
      expect(s.environment!.REDISCLI_AUTH, name).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    }
  });

  it('no data-store secret on a command line: no interpolated secret in any command, entrypoint or health check; no trust in pg_hba', () => {
    for (const [name, s] of services) {
      const argv = JSON.stringify([s.command ?? [], s.entrypoint ?? [], s.healthcheck ?? {}]);
      expect(argv, name).not.toMatch(/\$\{[A-Z_]*(PASSWORD|TOKEN|JWKS|SIGNING_KEY)/);
    }
    const entrypoint = readRepoFile('infra/compose/postgres/postgres-entrypoint.sh');
    const hba = /cat >"\$PGDATA\/pg_hba\.conf" <<'HBA'\n([\s\S]*?)\nHBA/.exec(entrypoint)![1]!;
    expect(hba.split('\n')).toEqual([
      'local all all scram-sha-256',
      'host all postgres all reject',
      'host replication replicator all scram-sha-256',
      'host all all all scram-sha-256',
    ]);
    expect(entrypoint).toContain('--auth-local=scram-sha-256 --auth-host=scram-sha-256');
    expect(entrypoint).not.toMatch(/env PGPASSWORD=|env [^\n]*_PASSWORD=/);
  });

  it('dc-b data stores bootstrap as standbys of dc-a; payments (and login, for revocations) name dc-b their sync standby', () => {
    for (const [name, s] of [...ofComponent('postgres'), ...ofComponent('redis')]) {
      const service = s.labels!['failover-lab.service'] as (typeof SERVICES)[number];
      const region = s.labels!['failover-lab.region'];
      const component = s.labels!['failover-lab.component'] as 'postgres' | 'redis';
      const env = s.environment!;
      expect(env.FAILOVER_LAB_BOOTSTRAP_ROLE, name).toBe(region === 'dc-a' ? 'primary' : 'standby');
      // the peer is reached through the replication link towards it, in the links container
      const peer = region === 'dc-a' ? 'dc-b' : 'dc-a';
      expect(env.FAILOVER_LAB_PEER_HOST, name).toBe('links');
      const port = Number(env.FAILOVER_LAB_PEER_PORT);
      expect(port, name).toBe(replicationLinkPort(component, service, peer));
      const link = links.links.find((l) => l.from === region && l.to === peer && l.service === service);
      expect(
        link?.ports.find((p) => p.listen === port),
        name,
      ).toEqual({
        name: component,
        listen: port,
        target: {
          host: containerName(service, peer, component),
          port: component === 'postgres' ? 5432 : 6379,
        },
      });
      if (component === 'postgres') {
        const sync = keepsSyncStandby(service) && region === 'dc-a' ? 'dc-b' : '';
        expect(env.FAILOVER_LAB_SYNC_STANDBY, name).toBe(sync);
        // the volume is the postgres home: PGDATA and a standby's .pgpass both live on it
        expect(s.volumes, name).toEqual([`${name}-data:/var/lib/postgresql`]);
      } else {
        expect(s.command, name).toEqual([
          'redis-server',
          '--save',
          '',
          '--appendonly',
          'no',
          '--rdb-del-sync-files',
          'yes',
        ]);
      }
    }
  });

  it('the router reaches every cell (app and Postgres) through its edge link in the links container, with the lab replication modes', () => {
    const router = JSON.parse(readRepoFile('infra', 'compose', 'router.json')) as {
      adminToken?: string;
      services: Record<
        string,
        {
          mode: string;
          syncStandby?: boolean;
          cells: Record<string, string>;
          postgres?: Record<string, string>;
        }
      >;
    };
    expect(router.adminToken).toBeUndefined(); // from ADMIN_TOKEN in the environment, never in the file
    expect(Object.keys(router.services).sort()).toEqual([...SERVICES].sort());
    for (const service of SERVICES) {
      expect(router.services[service]!.mode).toBe(REPLICATION_MODE[service]);
      expect(router.services[service]!.syncStandby).toBe(keepsSyncStandby(service));
      for (const region of REGIONS) {
        const link = links.links.find((l) => l.from === 'edge' && l.to === region && l.service === service);
        expect(link, `edge→${region}/${service}`).toBeDefined();
        const through = (port: number) => link!.ports.find((p) => p.listen === port)?.target;
        const url = new URL(router.services[service]!.cells[region]!);
        expect(url.hostname).toBe('links');
        const app = through(Number(url.port))!;
        expect(compose.services[app.host]?.labels?.['failover-lab.component']).toBe('app');
        expect(compose.services[app.host]?.labels?.['failover-lab.service']).toBe(service);
        expect(compose.services[app.host]?.labels?.['failover-lab.region']).toBe(region);
        expect(app.port).toBe(3000);
        const [pgHost, pgPort] = router.services[service]!.postgres![region]!.split(':');
        expect(pgHost).toBe('links');
        const pg = through(Number(pgPort))!;
        expect(compose.services[pg.host]?.labels?.['failover-lab.component']).toBe('postgres');
        expect(compose.services[pg.host]?.labels?.['failover-lab.service']).toBe(service);
        expect(compose.services[pg.host]?.labels?.['failover-lab.region']).toBe(region);
        expect(pg.port).toBe(5432);
      }
    }
    // every listening port is one link's, once
    const ports = links.links.flatMap((l) => l.ports.map((p) => p.listen));
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("links.json is the contract's LinksConfigFile, mounted where the links container reads it; edge and replication links", () => {
    expect(problemsOf(LinksConfigFileSchema, links)).toEqual([]);
    const cells = SERVICES.length * REGIONS.length;
    // one edge link per cell (router → cell), one replication link per cell (other region → its stores)
    expect(links.links.map((l) => (l.from === 'edge' ? 'edge' : 'replication'))).toEqual([
      ...Array(cells).fill('edge'),
      ...Array(cells).fill('replication'),
    ]);
    const ports = links.links.flatMap((l) => l.ports.map((p) => p.listen));
    expect(new Set(ports).size).toBe(ports.length);
    const s = compose.services.links!;
    expect(s.volumes).toContain('./infra/compose/links.json:/etc/failover-lab/links.json:ro');
    expect(s.environment!.LINKS_CONFIG).toBe('/etc/failover-lab/links.json');
    // the token from the env file, never a literal and never on the command line
    expect(s.environment!.LINKS_TOKEN).toMatch(/^\$\{LINKS_TOKEN:\?[^}]+\}$/);
    expect(s.command!.join(' ')).not.toMatch(/TOKEN/);
    // the drill's compose backend knows the port without importing infra/compose (layering)
    expect(links.control.port).toBe(DRILL_LINKS_CONTROL_PORT);
    expect(compose.services.router!.depends_on).toHaveProperty('links');
  });

  it('Prometheus scrapes every app', () => {
    const prom = parse(readRepoFile('infra', 'prometheus', 'prometheus.compose.yml')) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[]; labels?: Record<string, string> }[];
      }[];
    };
    const cellsJob = prom.scrape_configs.find((j) => j.job_name === 'cells')!;
    const scraped = cellsJob.static_configs.map((c) => ({ target: c.targets[0], ...c.labels }));
    expect(scraped).toEqual(cellAppTargets());
  });
});

describe('files the compose file and Dockerfile depend on', () => {
  it('every bind-mounted path exists; entrypoint scripts are executable and parse', () => {
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('./')) continue;
        if (source === './drill-out/k6') continue; // created by the user before a k6 run (docs/docker.md)
        expect(existsSync(repoPath(source)), `${name}: ${source}`).toBe(true);
      }
    }
    for (const script of [
      'infra/compose/postgres/postgres-entrypoint.sh',
      'infra/compose/postgres/init-primary.sh',
      'infra/compose/redis/redis-entrypoint.sh',
      'infra/compose/scripts/install-docker.sh',
    ]) {
      accessSync(repoPath(script), constants.X_OK);
      const shell = readRepoFile(script).startsWith('#!/bin/sh') ? 'sh' : 'bash';
      const check = spawnSync(shell, ['-n', repoPath(script)], { encoding: 'utf8' });
      expect(check.status, `${script}: ${check.stderr}`).toBe(0);
    }
  });

  it('no secret value is committed: every secret-looking variable is a required interpolation', () => {
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|TOKEN|JWKS|SIGNING_KEY/.test(key)) {
          expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        }
      }
    }
  });

  it('the node Dockerfile: Node 20 from trixie on the base, production deps only (tsx among them), non-root, tini', () => {
    const dockerfile = readRepoFile('Dockerfile');
    expect(dockerfile).toContain('apt-trixie.sh nodejs');
    expect(dockerfile).toMatch(/npm@\$\{NPM_VERSION\} ci --omit=dev/);
    expect(dockerfile).toContain('test -x node_modules/.bin/tsx');
    expect(dockerfile).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toBe('root');
    const workspaces = (JSON.parse(readRepoFile('package.json')) as { workspaces: string[] }).workspaces;
    for (const ws of workspaces) expect(dockerfile, ws).toContain(`COPY ${ws}/package.json ${ws}/`);
    const ignore = readRepoFile('.dockerignore');
    for (const secretPath of ['.lab', '.env', 'node_modules'])
      expect(ignore.split('\n')).toContain(secretPath);
  });

  it('tsx is a production dependency (the image runs every app with it after npm ci --omit=dev)', () => {
    const ls = spawnSync('npm', ['ls', '--omit=dev', '--depth=0', '--json', 'tsx'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const tree = JSON.parse(ls.stdout) as { dependencies?: Record<string, unknown> };
    expect(Object.keys(tree.dependencies ?? {})).toContain('tsx');
  });
});
