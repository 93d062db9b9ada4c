// "Bring the real node up whenever the host can run it": the decision, and
// the one-line reason a person (or a skipped test) sees when it cannot.
import { join } from 'node:path';
import { realNodeSupport } from './host.ts';
import { RealNodeBusyError } from './host-lock.ts';
import { startRealNode, type RealNode, type RealNodeOptions } from './real-node.ts';

export type RealNodeStatus =
  | { readonly state: 'running'; readonly node: RealNode }
  /** Running from an earlier `cluster:up` (this process did not start it). */
  | { readonly state: 'reused'; readonly name: string }
  /** Turned off (`--no-real-node`) or not asked for. */
  | { readonly state: 'off'; readonly reason: string }
  /** The host cannot run it: not root, packages missing, cgroups, or another cluster holds it. */
  | { readonly state: 'unsupported'; readonly reason: string }
  /** The host can run it, yet it did not start: a bug to look at, not a skip. */
  | { readonly state: 'failed'; readonly reason: string };

export async function startRealNodeIfSupported(o: RealNodeOptions): Promise<RealNodeStatus> {
  const log = o.log ?? (() => undefined);
  const support = await realNodeSupport(join(o.bin, 'kubelet'));
  if (!support.ok) {
    log(`no real node: ${support.reason}`);
    return { state: 'unsupported', reason: support.reason };
  }
  try {
    return { state: 'running', node: await startRealNode(o) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof RealNodeBusyError) {
      log(`no real node: ${reason}`);
      return { state: 'unsupported', reason };
    }
    log(`the real node failed to start: ${reason}`);
    return { state: 'failed', reason };
  }
}

/** The node's name when there is one, else undefined. */
export function realNodeName(status: RealNodeStatus): string | undefined {
  if (status.state === 'running') return status.node.name;
  if (status.state === 'reused') return status.name;
  return undefined;
}
