// Validation against the contract's TypeBox schemas, with the problems said the way an operator
// reads them ("probe.fall must be an integer 1-100"), every one at once. TypeBox's own messages
// ("must be <= 100" at "/probe/fall") are for programs; configuration errors are for people.
//
// Two annotations a schema may carry for this: `expected` (what follows "must be") and `keyKind`
// (the noun for an unknown key: "services.x: unknown service").
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

type Json = Record<string, unknown>;

function schemaAt(root: TSchema, pointer: string): Json {
  let node: unknown = root;
  for (const raw of pointer.replace(/^#\/?/, '').split('/')) {
    if (raw === '' || node === undefined) continue;
    node = (node as Json)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return (node ?? {}) as Json;
}

function range(min: unknown, max: unknown): string {
  if (typeof min === 'number' && typeof max === 'number') return ` ${min}-${max}`;
  if (typeof min === 'number') return ` ≥ ${min}`;
  if (typeof max === 'number') return ` ≤ ${max}`;
  return '';
}

/** What a value of this schema looks like, in words. */
export function describeSchema(schema: Json): string {
  if (typeof schema.expected === 'string') return schema.expected;
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(', ')}`;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map(describeSchema).join(' or ');
  switch (schema.type) {
    case 'integer':
      return `an integer${range(schema.minimum, schema.maximum)}`;
    case 'number':
      return `a number${range(schema.minimum, schema.maximum)}`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'object':
      return 'an object';
    case 'array':
      return 'a list';
    case 'string':
      if (typeof schema.minLength === 'number' && schema.minLength > 1)
        return `at least ${schema.minLength} characters`;
      return typeof schema.pattern === 'string' ? `text matching ${schema.pattern}` : 'a non-empty string';
    default:
      return 'valid';
  }
}

const pathName = (prefix: string, instancePath: string): string =>
  [
    prefix,
    ...instancePath
      .split('/')
      .filter(Boolean)
      .map((p) => p.replaceAll('~1', '/')),
  ]
    .filter(Boolean)
    .join('.');

function valueAt(value: unknown, instancePath: string): unknown {
  let node = value;
  for (const part of instancePath.split('/').filter(Boolean)) node = (node as Json | undefined)?.[part];
  return node;
}

/**
 * Every problem of `value` against `schema`, one line per offending field; empty when it conforms.
 * Values are echoed only where they cannot be secrets (numbers, booleans, names from a closed list).
 */
export function problemsOf(schema: TSchema, value: unknown, prefix = ''): string[] {
  const byPath = new Map<string, ReturnType<typeof Value.Errors>[number][]>();
  for (const error of Value.Errors(schema, value)) {
    // a `false` sub-schema repeats what additionalProperties says
    if (error.keyword === 'boolean') continue;
    const list = byPath.get(error.instancePath) ?? [];
    list.push(error);
    byPath.set(error.instancePath, list);
  }
  const problems: string[] = [];
  for (const [instancePath, errors] of byPath) {
    const name = pathName(prefix, instancePath);
    const isStructural = (e: { keyword: string }) =>
      e.keyword === 'required' || e.keyword === 'additionalProperties';
    const structural = errors.filter(isStructural);
    for (const e of structural) {
      const params = e.params as { requiredProperties?: string[]; additionalProperties?: string[] };
      for (const property of params.requiredProperties ?? []) {
        problems.push(`${pathName(name, property)} is required`);
      }
      if (params.additionalProperties) {
        const parent = schemaAt(schema, e.schemaPath);
        const known = Object.keys((parent.properties as Json | undefined) ?? {});
        const kind = typeof parent.keyKind === 'string' ? parent.keyKind : 'setting';
        for (const key of params.additionalProperties) {
          problems.push(
            `${pathName(name, key)}: unknown ${kind}${known.length ? ` (known: ${known.join(', ')})` : ''}`,
          );
        }
      }
    }
    if (structural.length === errors.length) continue;
    // For a union, speak of the union, not of each branch it tried.
    const leaf = errors.find((e) => e.keyword === 'anyOf') ?? errors.find((e) => !isStructural(e))!;
    const leafSchema = schemaAt(schema, leaf.schemaPath);
    const actual = valueAt(value, instancePath);
    const echo =
      typeof actual === 'number' ||
      typeof actual === 'boolean' ||
      (typeof actual === 'string' && Array.isArray(leafSchema.enum));
    problems.push(
      `${name} must be ${describeSchema(leafSchema)}${echo ? `, got ${JSON.stringify(actual)}` : ''}`,
    );
  }
  return problems;
}

/** An error carrying every problem, one per line; `what` names the thing that was checked. */
export class ContractError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`invalid ${what}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ContractError';
  }
}

/** The value with the schema's defaults filled in, or a ContractError listing every problem. */
export function parseWith<T extends TSchema>(schema: T, value: unknown, what: string, prefix = '') {
  const withDefaults = Value.Default(schema, Value.Clone(value));
  const problems = problemsOf(schema, withDefaults, prefix);
  if (problems.length > 0) throw new ContractError(what, problems);
  return withDefaults as import('typebox').Static<T>;
}
