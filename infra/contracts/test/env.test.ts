import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { CellEnvSchema, readEnv } from '../src/index';

describe('readEnv', () => {
  const Schema = Type.Object({
    PORT: Type.Integer({ minimum: 1, maximum: 65_535 }),
    LEVEL: Type.Enum(['info', 'debug'], { default: 'info' }),
    NAME: Type.Optional(Type.String({ minLength: 3 })),
  });

  it('converts numbers, fills defaults, ignores what the schema does not name', () => {
    expect(readEnv(Schema, { PORT: '3000', PATH: '/bin' })).toEqual({
      value: { PORT: 3000, LEVEL: 'info' },
      problems: [],
    });
  });

  it('says every problem at once; an empty value counts as unset; free text is never echoed', () => {
    expect(readEnv(Schema, { PORT: '70000', LEVEL: 'loud', NAME: 'x' }).problems).toEqual([
      'PORT must be an integer 1-65535, got 70000',
      'LEVEL must be one of info, debug, got "loud"',
      'NAME must be at least 3 characters',
    ]);
    expect(readEnv(Schema, { PORT: '' }).problems).toEqual(['PORT is required']);
  });

  it('the cell environment of docs/contracts.md', () => {
    const { problems } = readEnv(CellEnvSchema, {
      SERVICE_NAME: 'payments',
      REGION: 'dc-c',
      HOST: '10.0.0.1',
    });
    expect(problems).toEqual([
      'PORT is required',
      'DATABASE_URL is required',
      'REDIS_URL is required',
      'ADMIN_TOKEN is required',
      'JWT_JWKS is required',
      'REGION must be one of dc-a, dc-b, got "dc-c"',
      'HOST must be a loopback address (127.x.x.x) or 0.0.0.0 in a container',
    ]);
  });
});
