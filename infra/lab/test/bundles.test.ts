// The lab's bundles: used only while every source that went into one hashes the same.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBundles, freshBundle, nodeArgsFor } from '../src/bundles';

const dir = mkdtempSync(join(tmpdir(), 'flab-bundles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const entry = join(dir, 'entry.ts');
const dep = join(dir, 'dep.ts');
const run = (args: string[]) => execFileSync(process.execPath, args, { encoding: 'utf8' }).trim();

describe('bundles', () => {
  it('a bundle runs while its inputs are unchanged; an edited input makes it stale until rebuilt', () => {
    writeFileSync(dep, 'export const word: string = "first";\n');
    writeFileSync(entry, 'import { word } from "./dep";\nconsole.log(word);\n');
    expect(freshBundle(entry)).toBeNull();
    ensureBundles([entry]);
    expect(freshBundle(entry)).toBe(join(dir, 'entry.bundle.mjs'));
    expect(nodeArgsFor(entry)).toEqual(['--enable-source-maps', join(dir, 'entry.bundle.mjs')]);
    expect(run(nodeArgsFor(entry))).toBe('first');

    // an input that is not the entry file itself
    writeFileSync(dep, 'export const word: string = "second";\n');
    expect(freshBundle(entry)).toBeNull();
    expect(nodeArgsFor(entry)).toEqual(['--import', 'tsx', entry]);
    ensureBundles([entry]);
    expect(run(nodeArgsFor(entry))).toBe('second');
  });

  it('every npm package is inside the bundle, its source map beside it, and the bundler is one of its inputs', () => {
    // ~1,400 module files that Node would otherwise resolve and compile one by one at every start
    const server = resolve(__dirname, '../../../services/payments/src/server.ts');
    ensureBundles([server]);
    const bundle = freshBundle(server);
    expect(bundle).not.toBeNull();
    const imports = [
      ...readFileSync(bundle as string, 'utf8').matchAll(/^import .* from ["']([^"']+)["'];$/gm),
    ].map((m) => m[1]);
    expect(imports).toContain('node:module');
    expect(imports.filter((m) => !m?.startsWith('node:'))).toEqual([]);
    expect(readFileSync(bundle as string, 'utf8')).not.toMatch(/require\("(fastify|pg|ioredis)"\)/);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const { inputs } = JSON.parse(readFileSync(server.replace(/\.ts$/, '.bundle.inputs.json'), 'utf8')) as {
      inputs: Record<string, string>;
    };
    expect(Object.keys(inputs)).toContain('infra/compose/node/bundle.mjs');
  });
});
