// Errors of the template module. Which class is thrown is the handling
// decision: a broken template stops kjd (configuration); a bad item can never
// render, however often it is retried (permanent).
import { KjdError } from '../errors.ts';
import type { ErrorCategory, KjdErrorOptions } from '../errors.ts';

/** One thing wrong with a template, at a 1-based position in its file. */
export interface TemplateProblem {
  readonly line: number;
  readonly column: number;
  /** The field, e.g. `spec.template.spec.containers[0].image`; absent for YAML syntax errors. */
  readonly path?: string;
  readonly reason: string;
}

function formatProblem(file: string, problem: TemplateProblem): string {
  const where = `${file}:${problem.line}:${problem.column}`;
  return problem.path === undefined
    ? `${where}: ${problem.reason}`
    : `${where}: ${problem.path}: ${problem.reason}`;
}

/**
 * The template file cannot be used. All problems found in one load are
 * reported together (one per message line); `line`, `column` and `path` are
 * those of the first, for callers that show a single location.
 */
export class TemplateError extends KjdError {
  override readonly code = 'TEMPLATE_INVALID';
  override readonly category: ErrorCategory = 'configuration';
  readonly file: string;
  readonly problems: readonly TemplateProblem[];
  readonly line: number;
  readonly column: number;
  readonly path: string | undefined;

  constructor(
    file: string,
    problems: readonly [TemplateProblem, ...TemplateProblem[]],
    options?: KjdErrorOptions,
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'), options);
    this.file = file;
    this.problems = problems;
    this.line = problems[0].line;
    this.column = problems[0].column;
    this.path = problems[0].path;
  }
}

/** One parameter value that cannot be used, and what was expected instead. */
export interface ParameterIssue {
  readonly parameter: string;
  /** A sentence without the parameter name, e.g. `expected an integer, got "4x2"`. */
  readonly problem: string;
}

/** The item's values do not fit the template's parameter declarations. */
export class ParameterError extends KjdError {
  override readonly code = 'PARAMETER_INVALID';
  override readonly category: ErrorCategory = 'permanent';
  readonly issues: readonly ParameterIssue[];

  constructor(issues: readonly [ParameterIssue, ...ParameterIssue[]]) {
    super(issues.map((i) => `parameter ${i.parameter}: ${i.problem}`).join('; '));
    this.issues = issues;
  }
}

/** `KJD_PAYLOAD` would exceed the cap (env vars and the Job object have size limits). */
export class PayloadTooLargeError extends KjdError {
  override readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly category: ErrorCategory = 'permanent';
  readonly sizeBytes: number;
  readonly maxBytes: number;

  constructor(sizeBytes: number, maxBytes: number) {
    super(`payload is ${sizeBytes} bytes of JSON; the limit is ${maxBytes} bytes (maxPayloadBytes)`);
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }

  override hint(): string {
    return 'Send a reference to large data (an object-store URL, a database key) instead of the data itself, or raise maxPayloadBytes.';
  }
}

/** The request id cannot be recorded on the Job (too long, or not printable text). */
export class RequestIdInvalidError extends KjdError {
  override readonly code = 'REQUEST_ID_INVALID';
  override readonly category: ErrorCategory = 'permanent';
  readonly requestId: string;

  constructor(requestId: string, problem: string) {
    super(`request id ${JSON.stringify(requestId.slice(0, 80))}: ${problem}`);
    this.requestId = requestId;
  }
}

/** The namespace asked for is not a Kubernetes namespace name. */
export class NamespaceInvalidError extends KjdError {
  override readonly code = 'NAMESPACE_INVALID';
  override readonly category: ErrorCategory = 'permanent';
  readonly namespace: string;

  constructor(namespace: string) {
    super(
      `namespace ${JSON.stringify(namespace.slice(0, 80))}: expected a DNS label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`,
    );
    this.namespace = namespace;
  }
}

/** A template option given by kjd's own configuration is out of range. */
export class TemplateOptionsError extends KjdError {
  override readonly code = 'TEMPLATE_OPTIONS_INVALID';
  override readonly category: ErrorCategory = 'configuration';
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`template option ${option}: ${problem}`);
    this.option = option;
  }
}
