// A CPU profile of kube-apiserver while a contender runs (`--apiserver-profile
// DIR`), from its own pprof endpoint (on by default, `--profiling`), so that
// what one contender costs the API server more than another can be found by
// function rather than guessed: `go tool pprof -top -diff_base a.pb.gz b.pb.gz`.
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import type { BenchEnvironment } from './environment.ts';

/** Profiles the API server for `seconds` and writes the profile to `file`; resolves when written. */
export async function profileApiserver(env: BenchEnvironment, seconds: number, file: string): Promise<void> {
  const pki = dirname(env.caFile);
  const [ca, cert, key] = await Promise.all([
    readFile(env.caFile),
    readFile(join(pki, 'admin.crt')),
    readFile(join(pki, 'admin.key')),
  ]);
  const url = `${env.server.origin}/debug/pprof/profile?seconds=${String(seconds)}`;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(url, { ca, cert, key, timeout: (seconds + 30) * 1000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks));
        else reject(new Error(`${url}: HTTP ${String(res.statusCode)}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
  await writeFile(file, body);
}
