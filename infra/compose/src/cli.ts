// `npm run compose -- <command>`: the project's commands around docker-compose.yml (docs/docker.md).
//   base       make the Debian base image locally (hosts without an image registry)
//   build      build every image of the core stack once
//   generate   rewrite docker-compose.yml and infra/compose/router.json from the topology
import { makeBaseImage } from './base-image';
import { buildImages } from './compose-cmd';
import { BASE_IMAGE } from './compose-file';

const USAGE = `usage: npm run compose -- <command>
  base        make ${BASE_IMAGE} locally with mmdebstrap + docker import (no image registry needed)
  build       build the core stack's four images, each once (docker compose build, one service each)
  generate    rewrite docker-compose.yml and infra/compose/router.json from the lab's topology`;

async function main(argv: string[]): Promise<number> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  switch (argv[0]) {
    case 'base':
      await makeBaseImage(log);
      return 0;
    case 'build':
      await buildImages(log);
      return 0;
    case 'generate':
      await import('./generate');
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return argv[0] === undefined || argv[0] === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`compose: ${err.message}\n`);
    process.exitCode = 1;
  },
);
