import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adminErrors, defineErrors, SHARED_ERRORS } from '../src/index';
import { errorCodesInSource } from '../src/testing';

const readme = () => readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

describe('error tables', () => {
  it('defineErrors prefixes codes, merges the shared ones and keeps statuses', () => {
    const table = defineErrors('PAY', { INSUFFICIENT_FUNDS: { status: 409, message: 'not enough money' } });
    const err = table.make('INSUFFICIENT_FUNDS');
    expect(err.code).toBe('PAY_ERR_INSUFFICIENT_FUNDS');
    expect(err.statusCode).toBe(409);
    expect(err.message).toBe('not enough money');
    expect(table.make('FENCED', 'stale epoch').message).toBe('stale epoch');
    expect(table.has('PAY_ERR_VALIDATION')).toBe(true);
    expect(table.list).toHaveLength(Object.keys(SHARED_ERRORS).length + 1);
  });

  it('every shared and admin code is documented in the kit README', async () => {
    const text = await readme();
    for (const name of Object.keys(SHARED_ERRORS)) expect(text).toContain(`<SVC>_ERR_${name}`);
    for (const code of ['ADMIN_ERR_UNAUTHORIZED', 'ADMIN_ERR_STALE_EPOCH', 'ADMIN_ERR_PROMOTE_FAILED']) {
      expect(text).toContain(code);
    }
  });

  it('every code the kit source uses is in a table', async () => {
    const used = await errorCodesInSource(fileURLToPath(new URL('../src', import.meta.url)), 'SVC');
    expect(used.size).toBeGreaterThan(3);
    for (const code of used) {
      const known = code.startsWith('ADMIN_')
        ? adminErrors.has(code)
        : code.startsWith('SVC_ERR_') && code.slice('SVC_ERR_'.length) in SHARED_ERRORS;
      expect(known, code).toBe(true);
    }
  });
});
