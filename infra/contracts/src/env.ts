// Reading configuration from environment variables (or command-line values, which are strings too)
// with a schema: numbers are converted, defaults filled in, every problem said at once.
import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';
import { problemsOf } from './problems';

/**
 * The schema's variables from `env` (an empty value counts as unset), converted to their types, with
 * defaults. `problems` is empty when they all conform; `value` is only as good as they are.
 */
export function readEnv<T extends TObject>(
  schema: T,
  env: Record<string, string | undefined>,
): { value: Static<T>; problems: string[] } {
  const picked: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') picked[name] = raw;
  }
  const value = Value.Default(schema, Value.Convert(schema, picked)) as Static<T>;
  return { value, problems: problemsOf(schema, value) };
}
