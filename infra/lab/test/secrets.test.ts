// secrets.json: created once with every field, and an older file gains the control token on load
// without any other value changing (the data dirs' passwords depend on them).
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSecrets, type LabSecrets, loadOrCreateSecrets, readControlToken } from '../src/secrets';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flab-secrets-'));
  file = join(dir, 'secrets.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const onDisk = () => JSON.parse(readFileSync(file, 'utf8')) as LabSecrets;

describe('lab secrets', () => {
  it('creates every secret, a 64-hex control token among them, in a 0600 file', () => {
    const created = loadOrCreateSecrets(file);
    expect(created.controlToken).toMatch(/^[0-9a-f]{64}$/);
    expect(onDisk()).toEqual(created);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecrets(file)).toEqual(created);
  });

  it('adds a control token to a file written before it existed and keeps every other value', () => {
    const { controlToken: _none, ...old } = generateSecrets();
    writeFileSync(file, JSON.stringify(old), { mode: 0o600 });
    expect(readControlToken(file)).toBeUndefined();

    const upgraded = loadOrCreateSecrets(file);
    expect(upgraded.controlToken).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...upgraded, controlToken: undefined }).toEqual({ ...old, controlToken: undefined });
    expect(onDisk()).toEqual(upgraded);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // the next load (the supervisor's restart, the client) sees the same token
    expect(loadOrCreateSecrets(file).controlToken).toBe(upgraded.controlToken);
    expect(readControlToken(file)).toBe(upgraded.controlToken);
  });

  it("adds the data stores' own passwords to an older file, keeping the rest", () => {
    const { postgresPassword: _p, redisPassword: _r, ...old } = generateSecrets();
    writeFileSync(file, JSON.stringify(old), { mode: 0o600 });
    const upgraded = loadOrCreateSecrets(file);
    expect(upgraded.postgresPassword).toMatch(/^[0-9a-f]{32}$/);
    expect(upgraded.redisPassword).toMatch(/^[0-9a-f]{32}$/);
    expect(upgraded.postgresPassword).not.toBe(upgraded.redisPassword);
    expect(upgraded).toMatchObject(old);
    expect(onDisk()).toEqual(upgraded);
  });

  it('an upgraded file is 0600 even if the old one was readable by others', () => {
    const { controlToken: _none, ...old } = generateSecrets();
    writeFileSync(file, JSON.stringify(old));
    chmodSync(file, 0o644);
    loadOrCreateSecrets(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('readControlToken never creates a file', () => {
    expect(readControlToken(file)).toBeUndefined();
    expect(() => statSync(file)).toThrow();
  });
});
