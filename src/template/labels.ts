// The labels and annotations by which kjd recognises its own Jobs. The
// Kubernetes code selects on these keys, so they are part of kjd's contract
// with clusters that already run Jobs it created: never rename them.
import {
  ANNOTATION_ID_SCOPE,
  ANNOTATION_REQUEST_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY_KJD,
} from '../kube/labels.ts';
import { sanitizeDnsLabel, shortHash } from './names.ts';

export { ANNOTATION_ID_SCOPE, ANNOTATION_REQUEST_ID, LABEL_MANAGED_BY, MANAGED_BY_KJD };
/** The template name, as {@link templateLabelValue} makes it. */
export const LABEL_TEMPLATE = 'kjd.dev/template';
/** First 10 hex digits of sha256 of the template file's text: which version of a template made a Job. */
export const LABEL_TEMPLATE_HASH = 'kjd.dev/template-hash';
/** First 10 hex digits of sha256 of the request id (the same as the Job name's suffix). */
export const LABEL_REQUEST_HASH = 'kjd.dev/request-hash';
/** On a template: the parameter declarations. Removed from rendered Jobs. */
export const ANNOTATION_PARAMETERS = 'kjd.dev/parameters';
/** Label and annotation keys under this prefix are kjd's; templates may not set them. */
export const RESERVED_KEY_PREFIX = 'kjd.dev/';

/** Environment variables kjd sets in every container. */
export const ENV_PAYLOAD = 'KJD_PAYLOAD';
export const ENV_REQUEST_ID = 'KJD_REQUEST_ID';
/** Parameter names may not start with this; kjd's own variables do. */
export const RESERVED_ENV_PREFIX = 'KJD_';

export function templateLabelValue(templateName: string): string {
  return sanitizeDnsLabel(templateName);
}

export function requestHashLabelValue(requestId: string): string {
  return shortHash(requestId);
}

export interface IdentitySelector {
  readonly templateName?: string;
  readonly requestId?: string;
}

/**
 * A label selector (the `labelSelector` query parameter) matching the Jobs kjd
 * created, narrowed to one template and/or one request id when given.
 */
export function identitySelector(selector: IdentitySelector = {}): string {
  const terms = [`${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`];
  if (selector.templateName !== undefined)
    terms.push(`${LABEL_TEMPLATE}=${templateLabelValue(selector.templateName)}`);
  if (selector.requestId !== undefined)
    terms.push(`${LABEL_REQUEST_HASH}=${requestHashLabelValue(selector.requestId)}`);
  return terms.join(',');
}
