#!/usr/bin/env -S node --max-semi-space-size=4
// The `kjd` executable. The shebang's flag keeps V8's young generation at
// 4 MB, as the image's ENTRYPOINT does (see there). kjd needs Node.js 24; this launcher is plain JS that
// any Node can parse, so on an older Node (e.g. `npx kjd` in a clone on a
// machine whose `node` is 20) it re-runs kjd with the Node 24 binary of the
// `node` npm package when the project has one, and otherwise says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/src/cli/kjd.js', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // Compiled code is cached on disk (NODE_COMPILE_CACHE, else the temp dir):
  // a restarted kjd is ready about 150 ms sooner.
  module.enableCompileCache();
  const { main } = await import(entry);
  await main();
} else {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    process.stderr.write(`kjd needs Node.js 24 or later; this is ${process.version}.\n`);
    process.exit(1);
  }
  const result = spawnSync(bundled, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
