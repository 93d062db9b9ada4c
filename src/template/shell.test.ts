import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeKubeExpansion, expandLikeKubelet } from './expansion.ts';
import { findShellInvocation, shellQuote } from './shell.ts';
import { checkScript } from './shell-lexer.ts';
import type { Marker } from './shell-lexer.ts';

describe('shellQuote', () => {
  test('plain words stay bare; everything else is single-quoted', () => {
    assert.equal(shellQuote('abc-123_x.y/z:1@2%3+4,5'), 'abc-123_x.y/z:1@2%3+4,5');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('1; rm -rf /'), "'1; rm -rf /'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('A=b'), "'A=b'", 'an assignment word must not stay bare');
    assert.equal(shellQuote('~root'), "'~root'");
  });
});

describe('findShellInvocation', () => {
  const cases: [readonly string[], ReturnType<typeof findShellInvocation>][] = [
    [['bin/sh', '-c', 'script'], { shellIndex: 0, operandIndex: 2, scriptIndex: 2 }],
    [['/bin/bash', '-euxc', 'script', 'name', 'arg'], { shellIndex: 0, operandIndex: 2, scriptIndex: 2 }],
    [['bash', '-o', 'pipefail', '-c', 'script'], { shellIndex: 0, operandIndex: 4, scriptIndex: 4 }],
    [['bash', '-eo', 'pipefail', '-c', 'script'], { shellIndex: 0, operandIndex: 4, scriptIndex: 4 }],
    [['bash', '-c', '-e', 'script'], { shellIndex: 0, operandIndex: 3, scriptIndex: 3 }],
    [['bash', '--norc', '-c', '--', 'script'], { shellIndex: 0, operandIndex: 4, scriptIndex: 4 }],
    [['/usr/bin/env', 'bash', '-c', 'script'], { shellIndex: 1, operandIndex: 3, scriptIndex: 3 }],
    [['busybox', 'sh', '-c', 'script'], { shellIndex: 1, operandIndex: 3, scriptIndex: 3 }],
    [['tini', '--', '/bin/zsh', '-c', 'script'], { shellIndex: 2, operandIndex: 4, scriptIndex: 4 }],
    [['sh', 'run.sh', '-c'], { shellIndex: 0, operandIndex: 1 }],
    [['sh', '-${X}', 'echo'], { shellIndex: 0, operandIndex: 2 }],
    [['python3', '-c', 'print(1)'], undefined],
    [['/app/shell', '-c', 'x'], undefined],
  ];
  for (const [argv, expected] of cases) {
    test(argv.join(' '), () => {
      assert.deepEqual(findShellInvocation(argv), expected);
    });
  }
});

/** The placeholders of a script written with `${NAME}`, as the slot compiler passes them. */
function problemsOf(script: string): string[] {
  const markers: Marker[] = [...script.matchAll(/\$\{([A-Z]+)\}/g)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    name: m[1] ?? '',
  }));
  return checkScript(script, markers).map((p) => p.reason.replace(/ in a shell script.*/, ''));
}

describe('checkScript: where a quoted value means exactly the value', () => {
  const fine = [
    'run --id ${X}',
    'run --id=${X} && echo done',
    'if [ -n ${X} ]; then run ${X}; fi',
    'echo \'literal\' ${X} "quoted"',
    'v=${X}; printf "%s" "$v"',
    '( cd /tmp; run ${X} )',
    'case ${X} in a) run ${X};; esac',
    'echo "$(date)" ${X} `date` $((1+2)) ${HOME:-x}',
    "echo $'a\\'b' ${X}",
    'cat <<EOF\nbody\nEOF\nrun ${X}',
    'cat <<-"END"\n\tbody\n\tEND\nrun ${X}',
    '# a comment\nrun ${X}',
    'echo a#b ${X}',
    'evaluate ${X}',
    'echo eval ${X}',
  ];
  for (const script of fine) {
    test(JSON.stringify(script), () => {
      assert.deepEqual(problemsOf(script), []);
    });
  }

  const refused: [string, string][] = [
    ['run "${X}"', 'placeholder ${X} is inside quotes'],
    ["run '${X}'", 'placeholder ${X} is inside quotes'],
    ["run $'${X}'", 'placeholder ${X} is inside quotes'],
    ['run "a $(b) ${X}"', 'placeholder ${X} is inside quotes'],
    ['run $(cat ${X})', 'placeholder ${X} is inside a command substitution $(...)'],
    ['run "$(cat ${X})"', 'placeholder ${X} is inside a command substitution $(...)'],
    ['run `cat ${X}`', 'placeholder ${X} is inside a command substitution `...`'],
    ['run ${HOME:-${X}}', 'placeholder ${X} is inside a ${...} expansion'],
    ['echo $(( ${X} + 1 ))', 'placeholder ${X} is inside an arithmetic expression'],
    ['(( n = ${X} ))', 'placeholder ${X} is inside an arithmetic expression'],
    ['run # ${X}', 'placeholder ${X} is inside a comment'],
    ['cat <<EOF\n${X}\nEOF', 'placeholder ${X} is inside a here-document'],
    ['cat <<${X}\nbody\n', 'placeholder ${X} is a here-document delimiter'],
    ['run \\${X}', 'placeholder ${X} is escaped by a backslash'],
    ['eval ${X}', 'placeholder ${X} is an argument of eval (which runs it as shell code)'],
    ['true; eval run ${X}', 'placeholder ${X} is an argument of eval (which runs it as shell code)'],
    ['trap ${X} EXIT', 'placeholder ${X} is an argument of trap (which runs it as shell code)'],
  ];
  for (const [script, reason] of refused) {
    test(JSON.stringify(script), () => {
      assert.deepEqual(problemsOf(script), [reason]);
    });
  }

  test('terminates and reports only real placeholders on any input', () => {
    const unit = fc.constantFrom(...Array.from('\'"`\\$(){}#<-\n\t ;|&ab'), '${X}', '<<', 'EOF', '$((', '))');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (script) => {
        const problems = checkScript(script, []);
        assert.deepEqual(problems, []);
        problemsOf(script);
      }),
      { numRuns: 500 },
    );
  });

  test('the advice names the environment variable', () => {
    const [problem] = checkScript('run $(cat ${X})', [{ start: 10, end: 14, name: 'X' }]);
    assert.match(problem?.reason ?? '', /use "\$X" instead \(kjd sets the environment variable X\)/);
  });
});

describe('the kubelet $(VAR) expansion', () => {
  const vars = new Map([['A', 'value-of-a']]);

  test('port of expansion.Expand', () => {
    assert.equal(expandLikeKubelet('x $(A) $(B) $$(A) $$ $ a$', vars), 'x value-of-a $(B) $(A) $ $ a$');
    assert.equal(expandLikeKubelet('$(A', vars), '$(A');
    assert.equal(expandLikeKubelet('$$$(A)', vars), '$value-of-a');
  });

  test('escaped text comes back unchanged', () => {
    for (const s of ['$(A)', '$$(A)', '$', '$$', 'a$$$b', '$(', '$((A))', 'plain']) {
      assert.equal(expandLikeKubelet(escapeKubeExpansion(s), vars), s);
    }
  });
});
