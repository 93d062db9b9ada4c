// What a Dispatcher is given and answers, apart from the class itself.
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { JobOperations } from '../kube/jobs.ts';
import type { DispatcherMetrics } from '../metrics/metrics.ts';
import type { WorkSource } from '../sources/source.ts';
import type { JobTemplate } from '../template/index.ts';
import type { InFlightRecords } from '../tracking/in-flight.ts';
import type { BatchClaims } from './batch-claims.ts';
import type { BatchSettings } from './batch-intake.ts';
import type { ItemOutcome } from './handle-item.ts';
import type { ItemLimits } from './item-limits.ts';

export interface Route {
  readonly name: string;
  /** Absent for HTTP routes: their items arrive through submit(). */
  readonly source?: WorkSource;
  readonly template: JobTemplate;
  readonly namespace: string;
  /** Kueue's LocalQueue: Jobs are created suspended with its label. */
  readonly kueueQueue?: string;
  /** Where request ids are unique; see RouteConfig.idScope. */
  readonly idScope?: string;
  /** HTTP routes: other namespaces a caller may ask for with ?namespace=. */
  readonly callerNamespaces?: readonly string[];
  /** Batch mode: items packed into Indexed Jobs (queue routes only). */
  readonly batch?: BatchSettings;
}

/** What submit() answers: an item's outcome, or no room to take it now. */
export type SubmitOutcome =
  | ItemOutcome
  /** At a limit (429), or not ready yet (503: the Job watch has not synced). */
  | { readonly kind: 'busy'; readonly reason: string; readonly notReady?: boolean };

export interface DispatcherLimits {
  readonly maxInFlightCreates: number;
  readonly maxActiveJobs: number;
  /** Deliveries + retries of one item before it is dead-lettered (retryable errors only). */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  /** Checked before an item is parsed. @default DEFAULT_ITEM_LIMITS */
  readonly item?: ItemLimits;
}

export interface DispatcherDeps {
  readonly routes: readonly Route[];
  readonly jobs: JobOperations;
  readonly limits: DispatcherLimits;
  readonly metrics: DispatcherMetrics;
  readonly logger: Logger;
  /** Unfinished Jobs kjd manages right now. */
  readonly activeJobs: () => number;
  /** False until the count above is known (the first list): no item is taken before. */
  readonly synced?: () => boolean;
  /** Called as soon as a Job exists for an item (it counts as active from then on). */
  readonly onCreated?: (job: V1Job) => void;
  /** Labels and finalizers every Job gets (kjd serve: the instance label, the result finalizer). */
  readonly jobLabels?: Readonly<Record<string, string>>;
  readonly jobFinalizers?: readonly string[];
  /**
   * When given, a Job of one item is held by an in-flight record written
   * before its item's ack (ADR 0009) instead of by jobFinalizers, which then
   * only batch Jobs get.
   */
  readonly inFlight?: Pick<InFlightRecords, 'add' | 'remove'>;
  /** The request already has a result: no second Job (see HandleContext.alreadyDone). */
  readonly alreadyDone?: (requestId: string, idScope: string | undefined) => Promise<boolean>;
  /** Where batch routes claim their items (required when a route has `batch`). */
  readonly batchClaims?: BatchClaims;
}
