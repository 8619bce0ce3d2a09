// Writes docker-compose.yml and infra/compose/router.json from compose-file.ts:
//   npx tsx infra/compose/src/generate.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderComposeFile, renderRouterConfig } from './render';

const outputs: [string, string][] = [
  ['../../../docker-compose.yml', renderComposeFile()],
  ['../router.json', renderRouterConfig()],
];
for (const [relative, text] of outputs) {
  const target = fileURLToPath(new URL(relative, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
