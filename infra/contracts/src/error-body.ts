// Every error anyone in the platform answers with: cells, router, lab control API.
import { type Static, Type } from 'typebox';

export const ErrorBodySchema = Type.Object({
  error: Type.Object({
    /** <PREFIX>_ERR_<NAME>: LOGIN_, PAY_, MSG_, ADMIN_, ROUTER_, LAB_ */
    code: Type.String({ pattern: '^[A-Z]+_ERR_[A-Z0-9_]+$' }),
    message: Type.String(),
  }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
