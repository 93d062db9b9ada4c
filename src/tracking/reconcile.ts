// After a start, the in-flight records (in-flight.ts) are checked against the
// cluster once the Job watch has synced. While kjd runs, its watch sees every
// delete and answers it; what it cannot see is a Job deleted while no kjd was
// running. Such a Job's record is still here, and its item has no result:
// it gets `Deleted`, the result that is also its tombstone (a redelivery
// makes no second Job).
//
// A record not in the watch cache is looked up with a GET before anything is
// written: the cache may simply not have a Job made since its list (by
// another replica), and records are written only after their Job's create,
// so a 404 after the record was read means the Job is gone.
//
// The same pass adopts unfinished Jobs that have no record (made by a process
// that died between the create and the record; an HTTP caller that never
// retried), so that they too are held from here on.
import type { Logger } from 'pino';
import { KubeNotFoundError } from '../kube/errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import type { JobRef } from './job-tracker.ts';
import { recordOf, type InFlightJob, type InFlightRecords } from './in-flight.ts';

export interface ReconcileOptions {
  readonly records: Pick<InFlightRecords, 'all' | 'adopt' | 'key'>;
  readonly jobs: Pick<JobOperations, 'get'>;
  /** The watch cache, synced. */
  readonly tracker: { has(namespace: string, name: string): boolean; unfinished(): JobRef[] };
  /** Namespaces this release watches: records elsewhere (a namespace dropped from its routes) are left. */
  readonly namespaces: readonly string[];
  /** A recorded Job is gone: write its `Deleted` result, then drop its record. */
  readonly gone: (ref: JobRef) => void;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface ReconcileReport {
  readonly records: number;
  readonly gone: number;
  readonly adopted: number;
  /** Records of namespaces this release no longer watches: left, and warned about. */
  readonly elsewhere: number;
}

export async function reconcileInFlight(o: ReconcileOptions): Promise<ReconcileReport> {
  const records = await o.records.all();
  const recorded = new Set(records.map((r) => `${r.namespace}/${r.name}`));
  const watched = new Set(o.namespaces);
  let gone = 0;
  const elsewhere = new Map<string, number>();
  for (const r of records) {
    if (o.signal.aborted) break;
    if (!watched.has(r.namespace)) elsewhere.set(r.namespace, (elsewhere.get(r.namespace) ?? 0) + 1);
    if (!watched.has(r.namespace) || o.tracker.has(r.namespace, r.name)) continue;
    if (await exists(o, r)) continue;
    gone++;
    o.gone(refOf(r));
  }
  const unrecorded = o.tracker
    .unfinished()
    .filter((j) => j.requestId !== undefined && !recorded.has(`${j.namespace}/${j.name}`))
    .map(recordOf);
  const adopted = await o.records.adopt(unrecorded);
  const report = { records: records.length, gone, adopted, elsewhere: sum(elsewhere) };
  o.logger.info(report, 'in-flight records checked against the cluster');
  // A route removed, or its namespace deleted while no kjd ran: this release may have no
  // rights there to check them, so they stay; every start reads them, and their items get
  // no result from this release. Said once per start, with where they are.
  if (elsewhere.size > 0)
    o.logger.warn(
      { namespaces: Object.fromEntries(elsewhere), key: o.records.key },
      'in-flight records of namespaces no route of this release uses: they are kept, and their items get no result here; if those namespaces are gone for good, delete their fields from the hash',
    );
  return report;
}

async function exists(o: ReconcileOptions, r: InFlightJob): Promise<boolean> {
  try {
    await o.jobs.get(r.name, r.namespace, o.signal);
    return true;
  } catch (err) {
    if (err instanceof KubeNotFoundError) return false;
    throw err;
  }
}

const sum = (counts: ReadonlyMap<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);

function refOf(r: InFlightJob): JobRef {
  return {
    name: r.name,
    namespace: r.namespace,
    requestId: r.requestId,
    idScope: r.idScope,
    template: r.template,
    finalizers: [],
  };
}
