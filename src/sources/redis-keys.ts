// Every Redis key kjd derives, in one place, so the hash tag that keeps a
// route's keys in one Redis Cluster slot lives here and nowhere else.
//
// Two layouts:
// - `plain` (a standalone Redis or a Sentinel-managed primary): the names kjd
//   has always used, `<source key>:processing:<replica>`, `<key>:dead`, … and
//   results at `<hashPrefix><idScope>/<id>` in one stream. Kept as it was, so
//   an upgrade with items in flight finds every processing list, heartbeat
//   and result where the previous kjd left them: nothing is migrated.
// - `slotted` (Redis Cluster): a Lua script or MULTI may only touch keys of
//   one slot. A source key is named by its users (producers push to it), so
//   kjd does not rename it; it derives its own keys from the source key's
//   hash tag. A key with a tag (`{jobs}:queue`) keeps today's suffixes, which
//   already share the tag; a key without one (`jobs`) is hashed whole, and
//   `{jobs}:…` hashes exactly like it (the tag is the whole old key), so kjd's
//   keys are `{jobs}:processing:<replica>`, `{jobs}:dead`, ….
//   Results belong to an idScope, not to a source (HTTP routes have none, and
//   routes sharing an idScope share results), so their tag is the idScope:
//   `<hashPrefix>{<idScope>}/<id>` and the stream `<stream>:{<idScope>}`.
// Routes thereby spread over slots by their source key and idScope.

export type KeyLayout = 'plain' | 'slotted';

/** The part of `key` Redis Cluster hashes when it has one: the text between the first `{` and the next `}`, if not empty. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** What Redis Cluster hashes for `key`: its tag, else the whole key. Two keys with the same value share a slot. */
export function slotName(key: string): string {
  return hashTag(key) ?? key;
}

/**
 * Why `key` cannot anchor kjd's keys in the slotted layout, or undefined if it
 * can. A key without a tag is wrapped in `{…}`: it must then hash as itself,
 * which a `}` inside it or an unmatched `{` would break.
 */
export function slottedKeyProblem(key: string): string | undefined {
  if (hashTag(key) !== undefined) return undefined;
  if (key.includes('{') || key.includes('}')) {
    return `"${key}" has a "{" or "}" but no hash tag; use one like "{jobs}:queue", or neither brace`;
  }
  return undefined;
}

/** A key of kjd's own beside a source key: `<key>:<suffix>`, or `{<key>}:<suffix>` in the slotted layout for a key without a tag. */
export function besideSource(layout: KeyLayout, sourceKey: string, suffix: string): string {
  const base = layout === 'slotted' && hashTag(sourceKey) === undefined ? `{${sourceKey}}` : sourceKey;
  return `${base}:${suffix}`;
}

/** The keys of a Redis-list route. */
export interface ListKeys {
  readonly queue: string;
  readonly deadLetter: string;
  /** The set of replica ids that have taken from this queue. */
  readonly replicas: string;
  /** The counter request ids are numbered with. */
  readonly sequence: string;
  processing(replica: string): string;
  heartbeat(replica: string): string;
}

export function listKeys(layout: KeyLayout, queue: string, deadLetter?: string): ListKeys {
  const own = (suffix: string) => besideSource(layout, queue, suffix);
  return {
    queue,
    deadLetter: deadLetter ?? own('dead'),
    replicas: own('replicas'),
    sequence: own('seq'),
    processing: (replica) => own(`processing:${replica}`),
    heartbeat: (replica) => own(`replica:${replica}`),
  };
}

/** The dead-letter stream of a Redis-stream route, unless configured. */
export function streamDeadLetterKey(layout: KeyLayout, stream: string): string {
  return besideSource(layout, stream, 'dead');
}

/** Where one idScope's results are: the hash of each request and the stream of all. */
export interface ResultKeys {
  readonly hash: string;
  readonly stream: string;
}

/**
 * Results without an idScope (Jobs from kjd before 0.2, which never ran on a
 * cluster) go under this tag in the slotted layout.
 */
const UNSCOPED_TAG = '-';

export function resultKeys(
  layout: KeyLayout,
  naming: { readonly hashPrefix: string; readonly stream: string },
  requestId: string,
  idScope: string | undefined,
): ResultKeys {
  if (layout === 'plain') {
    const request = idScope === undefined ? requestId : `${idScope}/${requestId}`;
    return { hash: naming.hashPrefix + request, stream: naming.stream };
  }
  const tag = `{${idScope ?? UNSCOPED_TAG}}`;
  return { hash: `${naming.hashPrefix}${tag}/${requestId}`, stream: `${naming.stream}:${tag}` };
}

/** The results stream of one idScope (the only one in the plain layout). */
export function resultStream(layout: KeyLayout, stream: string, idScope: string): string {
  return layout === 'plain' ? stream : `${stream}:{${idScope}}`;
}

/**
 * Batch mode's keys of one idScope: which batch Job claimed each request
 * (`…/claim/<id>`), and each batch Job's items (`…/job/<name>`), so that any
 * item of a batch redelivered after a crash can make exactly that Job again.
 * Tagged like the results, so a claim and its results share a slot.
 */
export interface BatchKeys {
  claim(requestId: string): string;
  manifest(jobName: string): string;
}

export function batchKeys(layout: KeyLayout, prefix: string, idScope: string | undefined): BatchKeys {
  const scope = layout === 'plain' ? (idScope ?? UNSCOPED_TAG) : `{${idScope ?? UNSCOPED_TAG}}`;
  return {
    claim: (requestId) => `${prefix}${scope}/claim/${requestId}`,
    manifest: (jobName) => `${prefix}${scope}/job/${jobName}`,
  };
}
