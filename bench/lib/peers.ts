// The peers no one here would ship: seed 000's program and launcher and the
// ceiling creator (Go, client-go), built once per source into the cache; and
// seed 001's loop (Python `kubernetes`), run from the venv scripts/setup.sh
// makes. The deploy tests run seed 000's program from here too.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../harness/paths.ts';

const run = promisify(execFile);
export const cacheDir = process.env.KJD_CACHE_DIR ?? join(homedir(), '.cache', 'kube-job-dispatcher');
const goModule = join(repoRoot, 'bench', 'peers', 'go');

export interface Peers {
  /** Seed 000's program as written: one Job created and deleted (the deploy tests run it). */
  readonly seed000Once: string;
  /** Seed 000's launcher called per item from a Redis queue. */
  readonly seed000: string;
  readonly ceiling: string;
  readonly python: string;
  readonly seed001Script: string;
  /** The KEDA head-to-head's worker (bench/keda.ts), static, for the real node's containers. */
  readonly queueWorker: string;
}

export async function preparePeers(log: (m: string) => void): Promise<Peers> {
  const python = join(cacheDir, 'python-peers', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: run bash scripts/setup.sh first`);
  const out = join(cacheDir, 'bench-peers', await sourceHash());
  if (!existsSync(join(out, 'ceiling'))) {
    log('building the Go peers (client-go; once per source change)');
    const stage = `${out}.tmp`;
    await rm(stage, { recursive: true, force: true });
    await mkdir(stage, { recursive: true });
    await run('go', ['build', '-trimpath', '-o', `${stage}/`, './...'], {
      cwd: goModule,
      // Static: queue-worker runs inside the real node's containers.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    });
    await rename(stage, out);
  }
  return {
    seed000Once: join(out, 'seed000'),
    seed000: join(out, 'seed000-loop'),
    ceiling: join(out, 'ceiling'),
    python,
    seed001Script: join(repoRoot, 'bench', 'peers', 'python', 'seed001_loop.py'),
    queueWorker: join(out, 'queue-worker'),
  };
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(goModule, { recursive: true }))
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const f of files) {
    hash.update(relative(goModule, join(goModule, f)));
    hash.update(await readFile(join(goModule, f)));
  }
  return hash.digest('hex').slice(0, 16);
}
