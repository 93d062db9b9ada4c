// `npm run faults`: every scenario in test/faults/*.fault.ts, one at a time
// (some start a private cluster; the machine may have 2 cores), each writing
// its figures to results/runs/<name>.json; then results/latest.json gathers
// them (keeping the last soak). `npm run faults -- --soak [--minutes 15]
// [--items 20000] [--replicas 3]` runs the soak instead (soak.ts).
// `--only a,b` runs only the named scenarios.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from './report.ts';

const here = import.meta.dirname;
const resultsDir = join(here, 'results');
const { values } = parseArgs({
  options: {
    soak: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    items: { type: 'string' },
    replicas: { type: 'string' },
    'fault-every': { type: 'string' },
    only: { type: 'string' },
  },
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code) => {
      resolve(code ?? 1);
    });
  });
}

async function latest(): Promise<{ scenarios: unknown[]; soak: unknown }> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')) as {
      scenarios: unknown[];
      soak: unknown;
    };
  } catch {
    return { scenarios: [], soak: null };
  }
}

async function main(): Promise<number> {
  await mkdir(join(resultsDir, 'runs'), { recursive: true });
  if (values.soak) {
    const args = [join(here, 'soak.ts')];
    for (const k of ['minutes', 'items', 'replicas', 'fault-every'] as const) {
      const v = values[k];
      if (v !== undefined) args.push(`--${k}`, v);
    }
    const code = await run(args, {});
    const soak = JSON.parse(await readFile(join(resultsDir, 'runs', 'soak.json'), 'utf8')) as unknown;
    await writeFile(
      join(resultsDir, 'latest.json'),
      `${JSON.stringify({ ...(await latest()), soak }, null, 2)}\n`,
    );
    return code;
  }
  const only = values.only?.split(',');
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.fault.ts'))
    .filter((f) => only === undefined || only.includes(f.replace(/\.fault\.ts$/, '')))
    .sort();
  for (const f of files)
    await rm(join(resultsDir, 'runs', f.replace(/\.fault\.ts$/, '.json')), { force: true });
  const code = await run(
    [
      '--test',
      '--test-global-setup=test/global-setup.ts',
      '--test-concurrency=1',
      '--test-timeout=600000',
      ...files.map((f) => join('test/faults', f)),
    ],
    { KJD_FAULTS_RECORD: '1' },
  );
  const byName = new Map<string, unknown>();
  for (const s of (await latest()).scenarios) byName.set((s as { name: string }).name, s);
  for (const f of await readdir(join(resultsDir, 'runs'))) {
    if (!f.endsWith('.json') || f === 'soak.json') continue;
    const r = JSON.parse(await readFile(join(resultsDir, 'runs', f), 'utf8')) as { name: string };
    byName.set(r.name, r);
  }
  const scenarios = [...byName.values()].sort((a, b) =>
    (a as { name: string }).name < (b as { name: string }).name ? -1 : 1,
  );
  await writeFile(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ ...(await latest()), scenarios }, null, 2)}\n`,
  );
  return code;
}

process.exitCode = await main();
await writeReport();
