// The dependency rules of docs/architecture.md, enforced: product code imports only the layers its
// row of "Who may import whom" names; only the drill's local backend and CLI import the lab; no
// product code imports a `/testing` entry. Tests and benchmarks may import anything.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, readRepoFile, repoPath } from './helpers/repo';

interface Layer {
  name: string;
  path: string;
  mayImport: string[];
}

/** The table of docs/architecture.md, as written. */
function layersFromDocs(): Layer[] {
  const text = readRepoFile('docs', 'architecture.md');
  const section = text.split(/^## /m).find((s) => s.startsWith('Who may import whom'));
  if (!section) throw new Error('docs/architecture.md has no "Who may import whom" section');
  const layers: Layer[] = [];
  for (const line of section.split('\n')) {
    const row = /^\|\s*(\w+)\s*\|\s*`([^`]+)`\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!row) continue;
    const mayImport = row[3]!.match(
      /\b(contracts|kit|links|lab|router|drill|compose|login|payments|messaging)\b/g,
    );
    layers.push({ name: row[1]!, path: row[2]!, mayImport: mayImport ?? [] });
  }
  return layers;
}

/** Files of the drill that may import the lab: the lab's clients. */
const LAB_CLIENTS = new Set([
  'infra/drill/src/backends/local.ts',
  'infra/drill/src/backends/local-cells.ts',
  'infra/drill/src/cli.ts',
]);

interface SourceFile {
  /** repo-relative */
  path: string;
  text: string;
}

function packageLayers(layers: Layer[]): Map<string, string> {
  const byPackage = new Map<string, string>();
  for (const layer of layers) {
    try {
      const pkg = JSON.parse(readFileSync(repoPath(layer.path, 'package.json'), 'utf8')) as { name: string };
      byPackage.set(pkg.name, layer.name);
    } catch {
      // infra/compose is no workspace: it is reached by relative path only
    }
  }
  return byPackage;
}

const isTest = (path: string) =>
  /(^|\/)(test|bench)\//.test(path) || path.endsWith('.test.ts') || path.startsWith('test/');

/** Every import of product code that breaks the rules, as "file: what (why)". */
function layeringViolations(files: SourceFile[], layers: Layer[], byPackage: Map<string, string>) {
  const layerOf = (path: string) => layers.find((l) => path === l.path || path.startsWith(`${l.path}/`));
  const violations: string[] = [];
  for (const file of files) {
    if (isTest(file.path)) continue;
    const own = layerOf(file.path);
    if (!own) continue;
    const specifiers = [
      ...file.text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'/g),
      ...file.text.matchAll(/import\(\s*'([^']+)'\s*\)/g),
    ].map((m) => m[1]!);
    for (const specifier of specifiers) {
      let target: string | undefined;
      if (specifier.startsWith('.')) {
        const resolved = relative(repoPath(), resolve(repoPath(), dirname(file.path), specifier));
        target = layerOf(resolved)?.name;
        if (isTest(resolved)) violations.push(`${file.path}: ${specifier} (a test file)`);
      } else if (specifier.startsWith('@failover-lab/')) {
        const [scope, name, ...entry] = specifier.split('/');
        target = byPackage.get(`${scope}/${name}`);
        if (entry.includes('testing')) violations.push(`${file.path}: ${specifier} (test helpers)`);
        if (target === undefined) violations.push(`${file.path}: ${specifier} (no such layer)`);
      }
      if (target === undefined || target === own.name) continue;
      const allowed =
        own.mayImport.includes(target) &&
        (target !== 'lab' || own.name !== 'drill' || LAB_CLIENTS.has(file.path));
      if (!allowed) violations.push(`${file.path}: ${specifier} (${own.name} may not import ${target})`);
    }
  }
  return violations;
}

const layers = layersFromDocs();
const byPackage = packageLayers(layers);

function productFiles(): SourceFile[] {
  return layers.flatMap((layer) =>
    listFiles(repoPath(layer.path), (name) => name.endsWith('.ts')).map((abs) => ({
      path: relative(repoPath(), abs),
      text: readFileSync(abs, 'utf8'),
    })),
  );
}

describe('layering (docs/architecture.md, "Who may import whom")', () => {
  it('the table names every workspace of package.json', () => {
    const workspaces = (JSON.parse(readRepoFile('package.json')) as { workspaces: string[] }).workspaces;
    expect(workspaces.filter((w) => !layers.some((l) => l.path === w))).toEqual([]);
    expect(layers.find((l) => l.name === 'contracts')?.mayImport).toEqual([]);
  });

  it('product code imports only what its layer may', () => {
    const files = productFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(layeringViolations(files, layers, byPackage)).toEqual([]);
  });

  it('would catch the imports it exists to stop', () => {
    const bad: SourceFile[] = [
      { path: 'infra/router/src/x.ts', text: "import { startLab } from '@failover-lab/lab';" },
      { path: 'infra/drill/src/run2.ts', text: "import type { Topology } from '@failover-lab/lab';" },
      { path: 'infra/contracts/src/x.ts', text: "import { buildCell } from '@failover-lab/cell-kit';" },
      { path: 'services/payments/src/x.ts', text: "export { x } from '../../../infra/router/src/config';" },
      {
        path: 'services/kit/src/x.ts',
        text: "import { createTestSigner } from '@failover-lab/cell-kit/testing';",
      },
      { path: 'infra/lab/src/x.ts', text: "const m = await import('../test/process-lab');" },
    ];
    expect(layeringViolations(bad, layers, byPackage)).toEqual([
      'infra/router/src/x.ts: @failover-lab/lab (router may not import lab)',
      'infra/drill/src/run2.ts: @failover-lab/lab (drill may not import lab)',
      'infra/contracts/src/x.ts: @failover-lab/cell-kit (contracts may not import kit)',
      'services/payments/src/x.ts: ../../../infra/router/src/config (payments may not import router)',
      'services/kit/src/x.ts: @failover-lab/cell-kit/testing (test helpers)',
      'infra/lab/src/x.ts: ../test/process-lab (a test file)',
    ]);
    // the same imports are fine in tests, and for the lab's own clients
    const allowed: SourceFile[] = [
      { path: 'infra/router/test/x.test.ts', text: "import { startLab } from '@failover-lab/lab';" },
      { path: 'infra/drill/src/cli.ts', text: "import { startLab } from '@failover-lab/lab';" },
      {
        path: 'services/login/bench/x.ts',
        text: "import { startTestDataTier } from '@failover-lab/lab/testing';",
      },
    ];
    expect(layeringViolations(allowed, layers, byPackage)).toEqual([]);
  });
});
