// How a test steers what a Job's Pod does on the kwok Nodes: put these
// annotations on the Pod template. The stages in cluster/kwok-stages.yaml read them.

export interface PodBehaviour {
  /** `succeed` (default), `fail`, or `never` (stays Running until deleted). */
  readonly outcome?: 'succeed' | 'fail' | 'never';
  /** How long the container "runs" before it finishes, in ms. Default 0. */
  readonly runMs?: number;
  /** Exit code reported when the outcome is `fail`. Default 1. */
  readonly exitCode?: number;
}

export const POD_OUTCOME_ANNOTATION = 'harness.kjd.dev/outcome';
export const POD_RUN_DURATION_ANNOTATION = 'harness.kjd.dev/run-duration';
export const POD_EXIT_CODE_ANNOTATION = 'harness.kjd.dev/exit-code';

export function podBehaviourAnnotations(b: PodBehaviour): Record<string, string> {
  const out: Record<string, string> = {};
  if (b.outcome !== undefined) out[POD_OUTCOME_ANNOTATION] = b.outcome;
  if (b.runMs !== undefined) out[POD_RUN_DURATION_ANNOTATION] = `${Math.max(0, Math.round(b.runMs))}ms`;
  if (b.exitCode !== undefined) out[POD_EXIT_CODE_ANNOTATION] = String(b.exitCode);
  return out;
}
