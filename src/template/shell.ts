// Seed 000 pasted an item's id into the script of `sh -c`, so an id such as
// `1; rm -rf /` ran `rm`. kjd finds the script argument of a shell invocation
// in a container's argv and inserts values there single-quoted: one word,
// with exactly the value's content, whatever characters it has.

/** Values made only of these characters mean the same to every POSIX shell unquoted. */
// `=` and `~` are left out on purpose: `A=b` at the start of a command is an
// assignment, and zsh expands a leading `=cmd` or `~user`.
const BARE_WORD = /^[A-Za-z0-9_./:+,@%-]+$/;

/** POSIX single-quote quoting: `'` becomes `'\''`; safe plain words stay bare. */
export function shellQuote(value: string): string {
  if (BARE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const SHELLS = new Set([
  'sh',
  'bash',
  'dash',
  'ash',
  'zsh',
  'ksh',
  'ksh93',
  'mksh',
  'pdksh',
  'oksh',
  'lksh',
  'yash',
  'posh',
  'rbash',
  'busybox-sh',
]);

/** Interpreters whose `-c`/`-e` program kjd cannot quote for. */
const INTERPRETERS =
  /^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*)$/;
const INTERPRETER_CODE_FLAGS = new Set(['-c', '-e', '-E', '-r', '--eval']);

/** Shell options that take the next argument as their value (`-o pipefail`, bash's `-O extglob`). */
const OPTIONS_WITH_VALUE = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);
const OPTION_CLUSTER = /^[-+][A-Za-z]+$/;

export function basename(arg: string): string {
  return arg.slice(arg.lastIndexOf('/') + 1);
}

export function isShell(arg: string): boolean {
  return SHELLS.has(basename(arg));
}

/** Where a shell, its options and its script are in a container's argv (`command` then `args`). */
export interface ShellInvocation {
  readonly shellIndex: number;
  /** The first operand: the script with `-c`, else a script file. Elements before it choose what runs. */
  readonly operandIndex: number;
  /** Set when the shell runs its first operand as a script (`-c` seen among the options). */
  readonly scriptIndex?: number;
}

function invocation(shellIndex: number, operandIndex: number, sawC: boolean): ShellInvocation {
  return sawC ? { shellIndex, operandIndex, scriptIndex: operandIndex } : { shellIndex, operandIndex };
}

/**
 * The first shell in `argv`: an element whose basename is a shell, then its
 * options, then the first operand. With an option cluster containing `c`
 * (`-c`, `-ec`, `-euxc`) the operand is a script; later elements are its
 * `$0`, `$1`, ... and are plain arguments. Any element starting with `-` or
 * `+` counts as an option, so `-${X}` is never taken for an operand.
 */
export function findShellInvocation(argv: readonly string[]): ShellInvocation | undefined {
  const shellIndex = argv.findIndex(isShell);
  if (shellIndex < 0) return undefined;
  let sawC = false;
  for (let i = shellIndex + 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--' || arg === '-') return invocation(shellIndex, i + 1, sawC);
    if (OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (OPTION_CLUSTER.test(arg)) {
      sawC ||= arg.startsWith('-') && arg.includes('c');
      // `-eo pipefail`: an `o` inside a cluster takes the next argument too.
      i += (arg.slice(1).match(/[oO]/g) ?? []).length;
    } else if (!arg.startsWith('-') && !arg.startsWith('+')) return invocation(shellIndex, i, sawC);
  }
  return invocation(shellIndex, argv.length, sawC);
}

/** Index of the program text of `python -c PROGRAM` and the like, where kjd cannot quote. */
export function findInterpreterProgram(argv: readonly string[]): number | undefined {
  const index = argv.findIndex(
    (arg, i) => INTERPRETERS.test(basename(arg)) && INTERPRETER_CODE_FLAGS.has(argv[i + 1] ?? ''),
  );
  return index < 0 || index + 2 >= argv.length ? undefined : index + 2;
}

/** `-c`, `-ec`: an argument that would make a preceding shell run the next one as a script. */
export function looksLikeScriptFlag(arg: string): boolean {
  return OPTION_CLUSTER.test(arg) && arg.startsWith('-') && arg.includes('c');
}
