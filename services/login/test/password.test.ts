import { describe, expect, it } from 'vitest';
import { DummyPasswordHash, hashPassword, verifyPassword } from '../src/password';

describe('password hashing (scrypt)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl3', hash)).toBe(false);
  });

  it('salts every hash, so equal passwords give different hashes', async () => {
    const params = { log2N: 10, r: 8, p: 1 };
    expect(await hashPassword('same password here', params)).not.toBe(
      await hashPassword('same password here', params),
    );
  });

  it('reads the parameters from the stored hash', async () => {
    const cheap = await hashPassword('a password of mine', { log2N: 10, r: 8, p: 1 });
    expect(await verifyPassword('a password of mine', cheap)).toBe(true);
  });

  it('refuses malformed stored hashes instead of throwing', async () => {
    for (const bad of ['', 'scrypt$x$8$1$a$b', 'bcrypt$15$8$1$a$b', 'scrypt$15$8$1$a']) {
      expect(await verifyPassword('whatever password', bad)).toBe(false);
    }
  });

  it('burns a full verification for unknown users and always says no', async () => {
    expect(await new DummyPasswordHash({ log2N: 10, r: 8, p: 1 }).burn('anything at all')).toBe(false);
  });
});
