// Request and response schemas for every login route (TypeBox: one definition for types and validation).
import { Type } from 'typebox';

export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 3, maxLength: 32, pattern: '^[a-z0-9_.-]+$' }),
    password: Type.String({ minLength: 12, maxLength: 256 }),
  },
  { additionalProperties: false },
);

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  username: Type.String(),
  createdAt: Type.String(),
});

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'access token lifetime in seconds' }),
  refreshToken: Type.String(),
});

export const RefreshRequest = Type.Object(
  { refreshToken: Type.String({ minLength: 20, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object(
      {
        kty: Type.String(),
        crv: Type.Optional(Type.String()),
        x: Type.Optional(Type.String()),
        kid: Type.String(),
        alg: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
  ),
});
