// What a template declares about one parameter, after validation.

export const PARAMETER_TYPES = ['string', 'integer', 'boolean', 'enum'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface ParameterSpec {
  readonly name: string;
  readonly type: ParameterType;
  /** A value must be given; false when absent from the declaration. */
  readonly required: boolean;
  /** The allowed values of an `enum`; absent for other types. */
  readonly values?: readonly string[];
  /** Tested (unanchored, `u` flag) against the value's string form, after type checks. */
  readonly pattern?: RegExp;
  /** The default in its final string form (already checked against type and pattern). */
  readonly default?: string;
  /** For people: shown by `kjd render --help`. */
  readonly description?: string;
}

/** Parameter names are environment variable names. */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
