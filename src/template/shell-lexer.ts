// Finds where placeholders sit in a `sh -c` script. kjd inserts a value there
// single-quoted, which is exactly one word with exactly the value's content
// only where the shell reads a plain unquoted word. Inside quotes the quote
// characters would become part of the data; inside `$(...)`, backticks,
// `${...}`, arithmetic, comments or here-documents the text is parsed again
// or not at all. Those placements are refused when the template is loaded.
//
// This is a lexer for the parts of POSIX sh (and bash's `$'...'`, `((...))`)
// that decide those contexts, not a parser: when it cannot tell, it errs on
// the side of reporting a problem.

/** A placeholder in the script: `start`/`end` index the script text. */
export interface Marker {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

export interface ScriptProblem {
  readonly marker: Marker;
  readonly reason: string;
}

type Frame =
  | 'top'
  | 'subshell'
  | 'cmdsub'
  | 'backtick'
  | 'single'
  | 'ansi'
  | 'double'
  | 'paramexp'
  | 'arith'
  | 'comment';

const WHERE: Record<Exclude<Frame, 'top' | 'subshell'>, string> = {
  single: 'inside quotes',
  ansi: 'inside quotes',
  double: 'inside quotes',
  cmdsub: 'inside a command substitution $(...)',
  backtick: 'inside a command substitution `...`',
  paramexp: 'inside a ${...} expansion',
  arith: 'inside an arithmetic expression',
  comment: 'inside a comment',
};

const WORD_BREAK = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
const COMMAND_BREAK = new Set(['\n', ';', '&', '|', '(', ')']);
/** Words after which the next word is still in command position. */
const RESERVED = new Set([
  'if',
  'then',
  'else',
  'elif',
  'while',
  'until',
  'do',
  '!',
  '{',
  'time',
  'command',
  'builtin',
]);
/** Builtins that run an argument as shell code: a quoted value would be parsed again. */
const CODE_RUNNERS = new Set(['eval', 'trap', 'alias']);
const COMMAND_WORD = /^[A-Za-z_!{][A-Za-z0-9_]*/;

class ScriptLexer {
  readonly #s: string;
  readonly #markers: ReadonlyMap<number, Marker>;
  readonly #stack: Frame[] = ['top'];
  readonly #heredocs: { delimiter: string; stripTabs: boolean }[] = [];
  readonly problems: ScriptProblem[] = [];
  #i = 0;
  #wordStart = true;
  #expectCommand = true;
  #commandWord = '';

  constructor(script: string, markers: readonly Marker[]) {
    this.#s = script;
    this.#markers = new Map(markers.map((m) => [m.start, m]));
  }

  run(): void {
    while (this.#i < this.#s.length) {
      const marker = this.#markers.get(this.#i);
      if (marker) {
        this.#onMarker(marker);
        this.#i = marker.end;
        this.#wordStart = false;
        if (this.#expectCommand) this.#commandWord = '';
        this.#expectCommand = false;
        continue;
      }
      this.#step();
    }
  }

  get #top(): Frame {
    return this.#stack[this.#stack.length - 1] ?? 'top';
  }

  #report(marker: Marker, where: string): void {
    const name = marker.name;
    const fix =
      where === WHERE.double
        ? 'remove the quotes — kjd quotes the value itself'
        : `the quoted value would not mean what it says there; use "$${name}" instead (kjd sets the environment variable ${name})`;
    this.problems.push({ marker, reason: `placeholder \${${name}} is ${where} in a shell script; ${fix}` });
  }

  #onMarker(marker: Marker): void {
    const inner = this.#stack.findLast((f) => f !== 'top' && f !== 'subshell');
    if (inner !== undefined) this.#report(marker, WHERE[inner]);
    else if (CODE_RUNNERS.has(this.#commandWord)) {
      this.#report(marker, `an argument of ${this.#commandWord} (which runs it as shell code)`);
    }
  }

  #push(frame: Frame, length: number): void {
    this.#stack.push(frame);
    this.#i += length;
  }

  #pop(length: number): void {
    if (this.#stack.length > 1) this.#stack.pop();
    this.#i += length;
  }

  /** A backslash escapes the next character; a placeholder there would lose its first `$`. */
  #escape(): void {
    const marker = this.#markers.get(this.#i + 1);
    if (marker) {
      const inner = this.#stack.findLast((f) => f !== 'top' && f !== 'subshell');
      this.#report(marker, inner === undefined ? 'escaped by a backslash' : WHERE[inner]);
      this.#i = marker.end;
    } else this.#i += 2;
  }

  #step(): void {
    switch (this.#top) {
      case 'top':
      case 'subshell':
      case 'cmdsub':
        this.#stepCommand();
        return;
      case 'single':
        this.#stepUntil("'", false);
        return;
      case 'ansi':
        this.#stepUntil("'", true);
        return;
      case 'backtick':
        this.#stepUntil('`', true);
        return;
      case 'comment':
        if (this.#s[this.#i] === '\n') this.#pop(0);
        else this.#i++;
        return;
      case 'double':
      case 'paramexp':
        this.#stepDoubleLike();
        return;
      case 'arith':
        this.#stepArith();
    }
  }

  #stepUntil(closer: string, escapes: boolean): void {
    const c = this.#s[this.#i];
    if (escapes && c === '\\') this.#escape();
    else if (c === closer) this.#pop(1);
    else this.#i++;
  }

  /** `$(`, `$((`, `${`, backticks: the openers valid in every context but single quotes. */
  #tryExpansion(): boolean {
    const head = this.#s.slice(this.#i, this.#i + 3);
    if (head.startsWith('$((')) this.#push('arith', 3);
    else if (head.startsWith('$(')) this.#push('cmdsub', 2);
    else if (head.startsWith('${')) this.#push('paramexp', 2);
    else if (head.startsWith('`')) this.#push('backtick', 1);
    else return false;
    return true;
  }

  #stepDoubleLike(): void {
    const c = this.#s[this.#i];
    const closer = this.#top === 'double' ? '"' : '}';
    if (c === '\\') this.#escape();
    else if (c === closer) this.#pop(1);
    else if (this.#tryExpansion()) return;
    else if (this.#top === 'paramexp' && c === '"') this.#push('double', 1);
    else if (this.#top === 'paramexp' && c === "'") this.#push('single', 1);
    else this.#i++;
  }

  #arithDepth = 0;

  #stepArith(): void {
    const c = this.#s[this.#i];
    if (c === '(') this.#arithDepth++;
    if (c === ')' && this.#arithDepth > 0) this.#arithDepth--;
    else if (c === ')') {
      this.#pop(this.#s[this.#i + 1] === ')' ? 2 : 1);
      return;
    } else if (this.#tryExpansion()) return;
    this.#i++;
  }

  #stepCommand(): void {
    const wordStart = this.#wordStart;
    const c = this.#s[this.#i] ?? '';
    this.#wordStart = WORD_BREAK.has(c);
    if (COMMAND_BREAK.has(c)) this.#expectCommand = true;
    else if (wordStart && c !== ' ' && c !== '\t') this.#readCommandWord();
    if (!this.#tryQuote(c) && !this.#tryExpansion() && !this.#tryStructure(c, wordStart)) this.#i++;
  }

  /** Backslash, quotes, `$'...'` and `$"..."`: what opens in a command context. */
  #tryQuote(c: string): boolean {
    if (c === '\\') this.#escape();
    else if (c === "'") this.#push('single', 1);
    else if (c === '"') this.#push('double', 1);
    else if (this.#s.startsWith("$'", this.#i)) this.#push('ansi', 2);
    else if (this.#s.startsWith('$"', this.#i)) this.#push('double', 2);
    else return false;
    return true;
  }

  /** Subshells, `((...))`, comments and here-documents. */
  #tryStructure(c: string, wordStart: boolean): boolean {
    if (wordStart && this.#s.startsWith('((', this.#i)) this.#push('arith', 2);
    else if (c === '(') this.#push('subshell', 1);
    else if (c === ')') this.#closeParen();
    else if (wordStart && c === '#') this.#push('comment', 1);
    else if (c === '<' && this.#s.startsWith('<<', this.#i)) this.#hereDocOperator();
    else if (c === '\n' && this.#heredocs.length > 0) this.#hereDocBodies();
    else return false;
    return true;
  }

  /** At the start of a word: if it is a command's name, remember it (eval and the like matter). */
  #readCommandWord(): void {
    if (!this.#expectCommand) return;
    const word = COMMAND_WORD.exec(this.#s.slice(this.#i, this.#i + 64))?.[0] ?? '';
    const assignment = this.#s[this.#i + word.length] === '=';
    if (RESERVED.has(word) || assignment) return;
    this.#commandWord = word;
    this.#expectCommand = false;
  }

  #closeParen(): void {
    // `)` with no open group is a case pattern's; it closes nothing.
    if (this.#top === 'subshell' || this.#top === 'cmdsub') this.#pop(1);
    else this.#i++;
  }

  #hereDocOperator(): void {
    if (this.#s.startsWith('<<<', this.#i)) {
      this.#i += 3;
      return;
    }
    this.#i += 2;
    const stripTabs = this.#s[this.#i] === '-';
    if (stripTabs) this.#i++;
    while (this.#s[this.#i] === ' ' || this.#s[this.#i] === '\t') this.#i++;
    const start = this.#i;
    while (this.#i < this.#s.length && !WORD_BREAK.has(this.#s[this.#i] ?? ' ')) this.#i++;
    for (const marker of this.#markers.values()) {
      if (marker.start >= start && marker.start < this.#i) this.#report(marker, 'a here-document delimiter');
    }
    const delimiter = this.#s.slice(start, this.#i).replace(/["'\\]/g, '');
    this.#heredocs.push({ delimiter, stripTabs });
  }

  /** At the newline ending a line with `<<WORD`: the bodies follow, each up to its delimiter line. */
  #hereDocBodies(): void {
    let lineStart = this.#i + 1;
    for (const { delimiter, stripTabs } of this.#heredocs.splice(0)) {
      const bodyStart = lineStart;
      for (;;) {
        const newline = this.#s.indexOf('\n', lineStart);
        const lineEnd = newline < 0 ? this.#s.length : newline;
        const line = this.#s.slice(lineStart, lineEnd);
        const done = (stripTabs ? line.replace(/^\t+/, '') : line) === delimiter || newline < 0;
        if (done) {
          this.#reportRange(bodyStart, lineStart, 'inside a here-document');
          lineStart = newline < 0 ? this.#s.length : newline + 1;
          break;
        }
        lineStart = newline + 1;
      }
    }
    this.#i = Math.max(lineStart, this.#i + 1);
    this.#wordStart = true;
    this.#expectCommand = true;
  }

  #reportRange(from: number, to: number, where: string): void {
    for (const marker of this.#markers.values()) {
      if (marker.start >= from && marker.start < to) this.#report(marker, where);
    }
  }
}

/**
 * Every placeholder of `script` (the argument of `sh -c`) that is not in a
 * position where a single-quoted word means exactly the value.
 */
export function checkScript(script: string, markers: readonly Marker[]): ScriptProblem[] {
  const lexer = new ScriptLexer(script, markers);
  lexer.run();
  return lexer.problems;
}
