// What the Job's container itself said when it ended: its exit code and its
// termination message (/dev/termination-log, or the log tail with
// FallbackToLogsOnError). A Job's conditions carry neither, so they are read
// from its Pods. Pure: works on Pods from a list or a watch.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export interface ContainerOutcome {
  readonly container: string;
  readonly exitCode: number;
  /** Trimmed; absent when the container wrote none. */
  readonly terminationMessage?: string;
  /** The kubelet's reason, e.g. Completed, Error, OOMKilled. */
  readonly reason?: string;
}

/**
 * The outcome that decided the Job: for a failed Job, the latest container
 * that exited non-zero; for a succeeded one, the latest that exited 0.
 * "Latest" is by finish time, so a retried Job reports its last attempt.
 * Undefined when no container of the wanted kind has terminated.
 */
export function containerOutcome(
  pods: readonly V1Pod[],
  phase: 'Succeeded' | 'Failed',
): ContainerOutcome | undefined {
  const candidates = pods
    .flatMap((pod) => pod.status?.containerStatuses ?? [])
    .map(terminated)
    .filter((t): t is Terminated => t !== undefined)
    .filter((t) => (phase === 'Failed' ? t.outcome.exitCode !== 0 : t.outcome.exitCode === 0))
    .sort((a, b) => b.finishedAt - a.finishedAt);
  return candidates[0]?.outcome;
}

interface Terminated {
  readonly outcome: ContainerOutcome;
  readonly finishedAt: number;
}

function terminated(cs: V1ContainerStatus): Terminated | undefined {
  const t = cs.state?.terminated;
  if (t === undefined) return undefined;
  const message = t.message?.trim();
  const finished = t.finishedAt as Date | string | undefined;
  return {
    outcome: {
      container: cs.name,
      exitCode: t.exitCode,
      ...(message ? { terminationMessage: message } : {}),
      ...(t.reason ? { reason: t.reason } : {}),
    },
    finishedAt: finished === undefined ? 0 : new Date(finished).getTime(),
  };
}

/** One line for people: `container worker exited 3 (Error): <message>`. */
export function describeOutcome(o: ContainerOutcome): string {
  const reason = o.reason === undefined ? '' : ` (${o.reason})`;
  const message = o.terminationMessage === undefined ? '' : `: ${o.terminationMessage}`;
  return `container ${o.container} exited ${o.exitCode}${reason}${message}`;
}
