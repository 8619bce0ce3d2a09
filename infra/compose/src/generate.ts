// Writes docker-compose.yml, the router's two config files (one per messaging topology) and the links
// container's config from
// compose-file.ts:
//   npx tsx infra/compose/src/generate.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderComposeFile, renderLinksConfig, renderRouterConfig } from './render';

const outputs: [string, string][] = [
  ['../../../docker-compose.yml', renderComposeFile()],
  ['../router.json', renderRouterConfig('active-passive')],
  ['../router.active-active.json', renderRouterConfig('active-active')],
  ['../links.json', renderLinksConfig()],
];
for (const [relative, text] of outputs) {
  const target = fileURLToPath(new URL(relative, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
