// The public surface of the template module: load a Job template, render it
// for an item, and the names, labels and errors other modules rely on.
// Everything not listed here is internal.
export {
  ANNOTATION_BATCH_REQUEST_IDS,
  ANNOTATION_ITEMS_PER_POD,
  BatchMismatchError,
  itemRecords,
  LABEL_BATCH_SIZE,
  batchRequestIds,
  packBatch,
  parseIndexes,
} from './batch.ts';
export type { BatchMember } from './batch.ts';
export { coerce, checkValue } from './coerce.ts';
export type { CheckedValue } from './coerce.ts';
export {
  NamespaceInvalidError,
  ParameterError,
  PayloadTooLargeError,
  RequestIdInvalidError,
  TemplateError,
  TemplateOptionsError,
} from './errors.ts';
export type { ParameterIssue, TemplateProblem } from './errors.ts';
export { escapeKubeExpansion, expandLikeKubelet } from './expansion.ts';
export {
  ANNOTATION_PARAMETERS,
  ANNOTATION_REQUEST_ID,
  ENV_PAYLOAD,
  ENV_REQUEST_ID,
  LABEL_MANAGED_BY,
  LABEL_REQUEST_HASH,
  LABEL_TEMPLATE,
  LABEL_TEMPLATE_HASH,
  MANAGED_BY_KJD,
  identitySelector,
  requestHashLabelValue,
  templateLabelValue,
} from './labels.ts';
export type { IdentitySelector } from './labels.ts';
export { DEFAULT_MAX_PAYLOAD_BYTES, loadTemplate, parseTemplate } from './load.ts';
export type { TemplateOptions } from './load.ts';
export {
  MAX_DNS_LABEL_LENGTH,
  isDnsLabel,
  isLabelValue,
  jobNameFor,
  labelValue,
  sanitizeDnsLabel,
  shortHash,
} from './names.ts';
export { PARAMETER_TYPES } from './parameter-types.ts';
export type { ParameterSpec, ParameterType } from './parameter-types.ts';
export { MAX_REQUEST_ID_LENGTH } from './render.ts';
export type { RenderRequest } from './render.ts';
export { shellQuote } from './shell.ts';
export type { JobTemplate } from './template.ts';
