// A toxiproxy for one scenario, stopped at its tear-down.
import { join } from 'node:path';
import { startToxiproxy, type FaultProxy } from '../../../harness/faults/toxiproxy.ts';
import type { Scenario } from './scenario.ts';

/** A proxy in front of `upstream` (host:port), e.g. the API server or Redis. */
export async function proxyFor(s: Scenario, name: string, upstream: string): Promise<FaultProxy> {
  const toxi = await startToxiproxy({ dir: join(s.dir, `toxiproxy-${name}`) });
  s.onTearDown(() => toxi.stop());
  return toxi.createProxy(name, upstream);
}

/** host:port of a URL (https://127.0.0.1:6443 -> 127.0.0.1:6443). */
export const hostPort = (url: string): string => new URL(url).host;
