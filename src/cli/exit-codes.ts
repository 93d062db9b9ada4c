// `kjd` exit codes, documented in the README.
export const EXIT = {
  OK: 0,
  /** kjd could not do what was asked (API error, bad template, no cluster). */
  ERROR: 1,
  /** Bad command line. */
  USAGE: 2,
  /** `--wait`/`wait`: the Job finished Failed. `check`: a permission is missing. */
  JOB_FAILED: 3,
  /** `--wait`/`wait`: the timeout passed before the Job finished. */
  TIMEOUT: 4,
} as const;
