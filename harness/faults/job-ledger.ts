// Every Job kjd ever created in a namespace, by uid, seen by listing the
// namespace every few hundred ms from the test side (not from kjd). A Job that
// is deleted later (TTL, cleanup, someone) stays in the ledger, so "a second
// Job after the first one was gone" is still counted as two. Listing rather
// than watching keeps the ledger working across API server restarts.
import { BatchV1Api, type KubeConfig } from '@kubernetes/client-node';

export const MANAGED_BY = 'app.kubernetes.io/managed-by=kjd';
export const REQUEST_ID_ANNOTATION = 'kjd.dev/request-id';

export interface LedgerJob {
  readonly uid: string;
  readonly name: string;
  readonly requestId: string;
  readonly firstSeenMs: number;
}

export interface JobLedger {
  /** Jobs seen so far, each once. */
  jobs(): readonly LedgerJob[];
  /** Lists once more, now (call before counting). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/** `everyMs` 0: list only when sync() is called (a soak with thousands of Jobs that outlive it). */
export function startJobLedger(kc: KubeConfig, namespace: string, everyMs = 300): JobLedger {
  const batch = kc.makeApiClient(BatchV1Api);
  const seen = new Map<string, LedgerJob>();
  let stopped = false;
  // A call, not the variable: the loop must see stop() flip it while it awaits.
  const isStopped = () => stopped;
  const sync = async () => {
    let next: string | undefined;
    do {
      const list = await batch.listNamespacedJob({
        namespace,
        labelSelector: MANAGED_BY,
        limit: 500,
        ...(next !== undefined ? { _continue: next } : {}),
      });
      const token = list.metadata?._continue;
      next = token === undefined || token === '' ? undefined : token;
      record(list.items);
    } while (next !== undefined);
  };
  const record = (
    items: readonly { metadata?: { uid?: string; name?: string; annotations?: Record<string, string> } }[],
  ) => {
    for (const j of items) {
      const uid = j.metadata?.uid;
      if (uid === undefined || seen.has(uid)) continue;
      seen.set(uid, {
        uid,
        name: j.metadata?.name ?? '',
        requestId: j.metadata?.annotations?.[REQUEST_ID_ANNOTATION] ?? '',
        firstSeenMs: Date.now(),
      });
    }
  };
  const loop = (async () => {
    while (!isStopped() && everyMs > 0) {
      // The API server may be down on purpose: try again on the next round.
      await sync().catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    jobs: () => [...seen.values()],
    sync,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
