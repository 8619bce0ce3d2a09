import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SHARED_ERRORS } from '@failover-lab/cell-kit';
import { errorCodesInSource, undocumentedCodes } from '@failover-lab/cell-kit/testing';
import { describe, expect, it } from 'vitest';
import { loginErrors } from '../src/errors';

describe('login error table', () => {
  it('documents every code of the table in the README', async () => {
    const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    expect(undocumentedCodes(loginErrors, readme)).toEqual([]);
  });

  it('uses only codes of the table, and every service-specific code is used', async () => {
    const used = await errorCodesInSource(fileURLToPath(new URL('../src', import.meta.url)), 'LOGIN');
    expect([...used].filter((code) => !loginErrors.has(code))).toEqual([]);
    const own = loginErrors.list.filter((e) => !(e.name in SHARED_ERRORS)).map((e) => e.code);
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((code) => !used.has(code))).toEqual([]);
  });
});
