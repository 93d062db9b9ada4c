// Several items to one Indexed Job (a route's `batch`), each item with the
// outcome it would have had alone: a bad item is dead-lettered alone, an item
// with a result is acknowledged without a Job, and every other item ends up
// in exactly one batch Job, whatever crashes came between (batch-claims.ts).
import type { V1Job } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { requestKey } from '../kube/labels.ts';
import type { WorkItem } from '../sources/source.ts';
import { jobNameFor, packBatch, type BatchMember } from '../template/index.ts';
import type { BatchClaims, StoredItem } from './batch-claims.ts';
import { createJob, deadOrThrow, renderItem, type HandleContext, type ItemOutcome } from './handle-item.ts';

export interface BatchContext extends HandleContext {
  readonly claims: BatchClaims;
  /** Items per Pod (packBatch's itemsPerPod). */
  readonly itemsPerPod: number;
}

/** Claims raced by another replica more often than this: hand the items back and take them again later. */
const MAX_CLAIM_ROUNDS = 3;

/** A batch Job's name: the template's prefix and a hash of its items' request keys, in index order. */
export function batchJobName(
  templateName: string,
  idScope: string | undefined,
  ids: readonly string[],
): string {
  const hash = createHash('sha256');
  for (const id of ids) hash.update(requestKey(id, idScope)).update('\n');
  return jobNameFor(templateName, `batch:${hash.digest('hex')}`);
}

/** Each item's outcome, keyed by the item. */
export async function handleBatch(
  items: readonly WorkItem[],
  ctx: BatchContext,
): Promise<Map<WorkItem, ItemOutcome>> {
  const outcomes = new Map<WorkItem, ItemOutcome>();
  let members = renderEach(items, ctx, outcomes);
  for (let round = 1; members.length > 0; round++) {
    const asked = await ctx.claims.owners(
      ctx.idScope,
      members.map((m) => m.item.requestId),
    );
    // The claims first, then the results: a batch's results are written before
    // its claims go, so an item cannot slip between the two unseen.
    const owners = new Map(members.map((m, i) => [m, asked[i]]));
    members = await withoutDone(members, ctx, outcomes);
    const claimed = new Map<string, WorkItem[]>();
    const free: typeof members = [];
    members.forEach((m) => {
      const owner = owners.get(m);
      if (owner === undefined) free.push(m);
      else claimed.set(owner, [...(claimed.get(owner) ?? []), m.item]);
    });
    for (const [jobName, its] of claimed) {
      const outcome = await remake(jobName, its, ctx);
      if (outcome === undefined) free.push(...members.filter((m) => its.includes(m.item)));
      else for (const item of its) outcomes.set(item, outcome);
    }
    if (free.length === 0) break;
    if (round > MAX_CLAIM_ROUNDS) {
      for (const m of free)
        outcomes.set(m.item, { kind: 'held', error: new ClaimRaceError(m.item.requestId) });
      break;
    }
    const ids = free.map((m) => m.item.requestId);
    const name = batchJobName(ctx.template.name, ctx.idScope, ids);
    let job: V1Job;
    try {
      job = packBatch(toMembers(free), { name, itemsPerPod: ctx.itemsPerPod });
    } catch (err) {
      for (const m of free) outcomes.set(m.item, deadOrThrow(err));
      break;
    }
    const stored = free.map((m) => ({ requestId: m.item.requestId, payload: m.item.payload }));
    const taken = await ctx.claims.claim(ctx.idScope, name, stored);
    if (taken.size > 0) {
      members = free; // claimed meanwhile: sort them out again
      continue;
    }
    const outcome = await createJob(job, ctx);
    if (outcome.kind === 'dead') await ctx.claims.forget(ctx.idScope, name, ids); // so a redrive can try again
    for (const m of free) outcomes.set(m.item, outcome);
    break;
  }
  return outcomes;
}

/** Bad items are dead: the rest, each rendered alone, go on. */
function renderEach(
  items: readonly WorkItem[],
  ctx: BatchContext,
  outcomes: Map<WorkItem, ItemOutcome>,
): Member[] {
  const members: Member[] = [];
  for (const item of items) {
    try {
      members.push({ item, job: renderItem(item, ctx) });
    } catch (err) {
      outcomes.set(item, deadOrThrow(err));
    }
  }
  return members;
}

/** Items whose request has a result are done: no second Job. */
async function withoutDone(
  members: readonly Member[],
  ctx: BatchContext,
  outcomes: Map<WorkItem, ItemOutcome>,
): Promise<Member[]> {
  const done = await Promise.all(
    members.map((m) =>
      ctx.alreadyDone === undefined ? Promise.resolve(false) : ctx.alreadyDone(m.item.requestId, ctx.idScope),
    ),
  );
  members.forEach((m, i) => {
    if (done[i] === true) outcomes.set(m.item, { kind: 'done', jobName: '' });
  });
  return members.filter((_, i) => done[i] !== true);
}

interface Member {
  readonly item: WorkItem;
  readonly job: V1Job;
}

function toMembers(ms: readonly Member[]): BatchMember[] {
  return ms.map((m) => ({ requestId: m.item.requestId, job: m.job }));
}

/**
 * Items that came back already claimed for `jobName`: make that Job again
 * from its stored items (a 409 says it exists, the usual case). Undefined
 * when nothing is stored any more (results written, or TTL): the claim is
 * stale, and the items are free.
 */
async function remake(
  jobName: string,
  items: readonly WorkItem[],
  ctx: BatchContext,
): Promise<ItemOutcome | undefined> {
  const stored = await ctx.claims.items(ctx.idScope, jobName);
  if (stored === undefined) {
    // Let go after its results (then each item has one, and is done) or by
    // TTL: either way the claim is stale, and holding on would keep its
    // items from ever forming a batch.
    if (
      (
        await withoutDone(
          items.map((item) => ({ item, job: {} })),
          ctx,
          new Map(),
        )
      ).length === 0
    )
      return { kind: 'done', jobName };
    await ctx.claims.forget(
      ctx.idScope,
      jobName,
      items.map((i) => i.requestId),
    );
    return undefined;
  }
  let job: V1Job;
  try {
    job = packBatch(
      stored.map((s) => ({ requestId: s.requestId, job: renderItem(asItem(s, items), ctx) })),
      { name: jobName, itemsPerPod: ctx.itemsPerPod },
    );
  } catch (err) {
    return deadOrThrow(err);
  }
  return createJob(job, ctx);
}

function asItem(s: StoredItem, delivered: readonly WorkItem[]): WorkItem {
  return (
    delivered.find((d) => d.requestId === s.requestId) ?? {
      requestId: s.requestId,
      payload: s.payload,
      attempts: 1,
      receivedAtMs: Date.now(),
    }
  );
}

class ClaimRaceError extends KjdError {
  readonly code = 'BATCH_CLAIM_RACE';
  readonly category: ErrorCategory = 'retryable';
  constructor(requestId: string) {
    super(`the claim of ${requestId} kept changing under another replica; it goes back to its queue`);
  }
}
