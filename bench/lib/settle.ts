// Waits for the API server to go quiet (namespace deletion, garbage
// collection of the previous contender's Jobs) so it does not bill the next.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnvironment } from './environment.ts';
import { cpuSeconds } from './proc.ts';

export async function settle(env: BenchEnvironment, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = cpuSeconds(env.apiserverPid);
  while (Date.now() < deadline) {
    await sleep(1000);
    const cpu = cpuSeconds(env.apiserverPid);
    if (cpu - last < 0.15) return;
    last = cpu;
  }
}
