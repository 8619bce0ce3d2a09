// Entry point: LINKS_CONFIG=<links.json> LINKS_TOKEN=<token> tsx infra/links/src/server.ts
// Starts every link of the file, reloads the faults a previous run left in its state file (a restart
// of this process must not heal a partition a drill is holding), and serves the control API.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type Fault, type LinksConfigFile, LinksConfigFileSchema, problemsOf } from '@failover-lab/contracts';
import closeWithGrace from 'close-with-grace';
import { buildControl } from './control';
import { Links } from './links';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function main() {
  const file = process.env.LINKS_CONFIG;
  const token = process.env.LINKS_TOKEN;
  if (!file) fail('LINKS_CONFIG must name the links config file');
  if (!token) fail('LINKS_TOKEN must hold the control token');
  const config = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const problems = problemsOf(LinksConfigFileSchema, config);
  if (problems.length > 0) fail(`invalid links config ${file}:\n  - ${problems.join('\n  - ')}`);
  const { links: table, control, stateFile, kernel } = config as LinksConfigFile;
  const persist = (faults: Fault[]) => {
    writeFileSync(`${stateFile}.tmp`, `${JSON.stringify({ faults })}\n`, { mode: 0o600 });
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  const links = new Links(
    table,
    persist,
    kernel && { ...kernel, log: (line: string) => process.stdout.write(`links: ${line}\n`) },
  );
  if (existsSync(stateFile)) {
    links.restore((JSON.parse(readFileSync(stateFile, 'utf8')) as { faults: Fault[] }).faults);
  }
  await links.listen();
  const app = buildControl(links, token);
  closeWithGrace({ delay: 2_000 }, async () => {
    await app.close();
    await links.close();
  });
  await app.listen({ host: control.host, port: control.port });
  const forwarding = links.forwarding();
  process.stdout.write(
    `links: ${table.length} links on ${table.reduce((n, l) => n + l.ports.length, 0)} ports; control on ${control.host}:${control.port}; ` +
      `at rest: ${forwarding.mode === 'kernel' ? 'kernel-forwarded (iptables nat)' : `proxy (${forwarding.reason})`}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`links failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
