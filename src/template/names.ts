// Names and label values for the objects kjd creates.
import { createHash, randomInt } from 'node:crypto';

/** RFC 1123 label: what Kubernetes requires of a namespace, and of a Job name (it becomes a Pod label). */
export const MAX_DNS_LABEL_LENGTH = 63;
export const MAX_LABEL_VALUE_LENGTH = 63;
/** Hex digits of sha256 kept in names and the request-hash label: 40 bits. */
export const HASH_LENGTH = 10;
const RANDOM_LENGTH = 5;
const RANDOM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const FALLBACK_PREFIX = 'job';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= MAX_DNS_LABEL_LENGTH && DNS_LABEL.test(s);
}

export function isLabelValue(s: string): boolean {
  return s.length <= MAX_LABEL_VALUE_LENGTH && LABEL_VALUE.test(s);
}

/** First {@link HASH_LENGTH} hex digits of sha256 over the UTF-8 of `text`. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/**
 * `s` made into a DNS label of at most `maxLength` characters: lowercased,
 * each run of characters other than [a-z0-9] replaced by one '-', '-' trimmed
 * from both ends (also after cutting to length). May return '' when `s` has
 * no ASCII letter or digit.
 */
export function sanitizeDnsLabel(s: string, maxLength = MAX_DNS_LABEL_LENGTH): string {
  const dashed = s.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return trimDashes(trimDashes(dashed).slice(0, maxLength));
}

function trimDashes(s: string): string {
  return s.replace(/^-+|-+$/g, '');
}

/**
 * `s` made into a valid label value: each run of characters other than
 * [A-Za-z0-9-_.] replaced by '-', cut to 63, and anything but a letter or
 * digit trimmed from both ends. Case is kept. May return '' (a valid value).
 */
export function labelValue(s: string): string {
  const replaced = s.replace(/[^-A-Za-z0-9_.]+/g, '-');
  const trim = (v: string): string => v.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return trim(trim(replaced).slice(0, MAX_LABEL_VALUE_LENGTH));
}

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) out += RANDOM_ALPHABET[randomInt(RANDOM_ALPHABET.length)] ?? 'x';
  return out;
}

/**
 * The name of the Job for one launch of template `templateName`.
 *
 * Guarantees:
 * - The result is an RFC 1123 DNS label: 1 to 63 characters of [a-z0-9-],
 *   starting and ending with a letter or digit, whatever `templateName` and
 *   `requestId` contain. It is therefore also a valid label value (Kubernetes
 *   copies a Job's name into its Pods' `job-name` label).
 * - Shape: `<prefix>-<suffix>`. The suffix is never shortened; the prefix is
 *   {@link sanitizeDnsLabel} of the template name, cut so the whole fits in
 *   63 characters ("job" if nothing is left of the template name).
 * - With a request id, the suffix is the first 10 hex digits of
 *   sha256(UTF-8 of the id): the same template name and id give the same name
 *   in every process and every kjd version, which is what makes a second
 *   create of the same request fail (AlreadyExists) instead of running twice.
 * - Different ids give different names unless their hashes agree in those 40
 *   bits: about 1 in 10^12 for a pair, an even chance only among ~1.2 million
 *   ids live at once for one template. Callers that treat AlreadyExists as
 *   "already launched" should compare the `kjd.dev/request-id` annotation.
 * - Without a request id, the suffix is 5 random characters of [a-z0-9]
 *   (36^5, about 60 million): names differ between calls, with no guarantee.
 */
export function jobNameFor(templateName: string, requestId?: string): string {
  return jobNameWithSuffix(templateName, requestId === undefined ? randomSuffix() : shortHash(requestId));
}

/** As jobNameFor, given the request id's shortHash already (a render needs it for a label too). */
export function jobNameWithSuffix(templateName: string, suffix: string): string {
  const room = MAX_DNS_LABEL_LENGTH - suffix.length - 1;
  const prefix = sanitizeDnsLabel(templateName, room) || FALLBACK_PREFIX;
  return `${prefix}-${suffix}`;
}
