// Writes docker-compose.yml and the router's two config files (one per messaging topology) from
// compose-file.ts:
//   npx tsx infra/compose/src/generate.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderComposeFile, renderRouterConfig } from './render';

const outputs: [string, string][] = [
  ['../../../docker-compose.yml', renderComposeFile()],
  ['../router.json', renderRouterConfig('active-passive')],
  ['../router.active-active.json', renderRouterConfig('active-active')],
];
for (const [relative, text] of outputs) {
  const target = fileURLToPath(new URL(relative, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
