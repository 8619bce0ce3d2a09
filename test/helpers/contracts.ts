// Reads docs/contracts.md so the compose checks follow the contract text itself.
import { readRepoFile } from './repo';

export interface CellEnvVar {
  name: string;
  optional: boolean;
  /** set only for this service (e.g. JWT_SIGNING_KEY: login only) */
  onlyFor: string | null;
}

/** The rows of the "Cell environment" table (`HOST`, `PORT` share one row). */
export function cellEnvironmentContract(): CellEnvVar[] {
  const text = readRepoFile('docs', 'contracts.md');
  const section = text.split(/^## /m).find((s) => s.startsWith('Cell environment'));
  if (!section) throw new Error('docs/contracts.md has no "Cell environment" section');
  const vars: CellEnvVar[] = [];
  for (const line of section.split('\n')) {
    const row = /^\|\s*(`[A-Z_]+`(?:,\s*`[A-Z_]+`)*)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!row) continue;
    const meaning = row[2]!;
    const onlyFor = /^(\w+) only\b/.exec(meaning)?.[1] ?? null;
    for (const name of row[1]!.match(/[A-Z_]+/g)!) {
      vars.push({ name, optional: /\boptional\b/i.test(meaning) || /\bdefault\b/i.test(meaning), onlyFor });
    }
  }
  return vars;
}
