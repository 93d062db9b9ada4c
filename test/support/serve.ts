// Runs `kjd serve` as a real process (so it can be SIGKILLed), with its JSON
// logs in a file, and waits for /readyz.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePorts } from '../../harness/net.ts';
import { testEnv } from './env.ts';

const bin = new URL('../../bin/kjd.mjs', import.meta.url).pathname;

// A failed test must not leave a `kjd serve` running: kill what is left when this test file's process exits.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface ServeProcess {
  readonly url: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  logs(): string;
}

export async function writeServeConfig(
  dir: string,
  name: string,
  config: Record<string, unknown>,
): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      kubernetes: { kubeconfig: testEnv().kubeconfigPath },
      redis: { url: testEnv().redisUrl },
      ...config,
    }),
  );
  return file;
}

export async function startServe(
  configFile: string,
  dir: string,
  replicaId: string,
  options: { env?: Record<string, string>; waitFor?: 'ready' | 'listening' } = {},
): Promise<ServeProcess> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port ?? 0}`;
  const logFile = join(dir, `${replicaId}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--config', configFile, '--listen', `127.0.0.1:${port ?? 0}`, '--replica-id', replicaId],
    {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...options.env },
    },
  );
  closeSync(fd);
  children.add(child);
  // Do not keep the test process alive for it; the exit hook above kills it.
  child.unref();
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const proc = { url, logFile, child, exited, logs: () => readFileSync(logFile, 'utf8') };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kjd serve exited ${child.exitCode}:\n${proc.logs()}`);
    // 'listening': any answer will do (a test that expects /readyz to fail).
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok || options.waitFor === 'listening',
      () => false,
    );
    if (ok) return proc;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`kjd serve not ready in 30 s:\n${proc.logs()}`);
}
