import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TemplateError, TemplateOptionsError, loadTemplate, parseTemplate } from './index.ts';

/** A minimal valid template; `extra` lines are spliced in under the container. */
function job(
  options: { parameters?: string; container?: string; command?: string; top?: string } = {},
): string {
  const parameters = options.parameters ?? '{ X: { type: string } }';
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: worker
  annotations:
    kjd.dev/parameters: '${parameters}'
${options.top ?? ''}spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
${options.container ?? ''}${options.command === undefined ? '' : `          command: ${options.command}\n`}`;
}

function templateError(source: string, file = 'worker-job.yaml'): TemplateError {
  try {
    parseTemplate(source, file);
  } catch (err) {
    assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
    assert.equal(err.code, 'TEMPLATE_INVALID');
    assert.equal(err.category, 'configuration');
    return err;
  }
  assert.fail('the template loaded');
}

describe('parseTemplate: a valid template', () => {
  test('exposes name, namespace, hash and parameters', () => {
    const t = parseTemplate(
      job({ top: '' }).replace('  name: worker\n', '  name: worker\n  namespace: batch\n'),
      'w.yaml',
    );
    assert.equal(t.name, 'worker');
    assert.equal(t.namespace, 'batch');
    assert.equal(t.file, 'w.yaml');
    assert.match(t.hash, /^[0-9a-f]{10}$/);
    assert.deepEqual(
      t.parameters.map((p) => [p.name, p.type, p.required]),
      [['X', 'string', false]],
    );
    assert.equal(t.parameter('X')?.type, 'string');
    assert.equal(t.maxPayloadBytes, 32 * 1024);
  });

  test('the template hash follows the file text', () => {
    const a = parseTemplate(job(), 'a.yaml');
    assert.equal(parseTemplate(job(), 'b.yaml').hash, a.hash);
    assert.notEqual(parseTemplate(`${job()}# changed\n`, 'a.yaml').hash, a.hash);
  });

  test('loadTemplate reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kjd-template-'));
    try {
      const path = join(dir, 'ok.yaml');
      await writeFile(path, job());
      assert.equal((await loadTemplate(path)).name, 'worker');
      await writeFile(path, 'kind: [');
      await assert.rejects(
        loadTemplate(path),
        (err: unknown) => err instanceof TemplateError && err.file === path,
      );
      await assert.rejects(loadTemplate(join(dir, 'missing.yaml')), TemplateError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('maxPayloadBytes is checked once, at load', () => {
    assert.throws(() => parseTemplate(job(), 'w.yaml', { maxPayloadBytes: 0 }), TemplateOptionsError);
    assert.throws(() => parseTemplate(job(), 'w.yaml', { maxPayloadBytes: 1.5 }), TemplateOptionsError);
    assert.equal(parseTemplate(job(), 'w.yaml', { maxPayloadBytes: 100 }).maxPayloadBytes, 100);
  });
});

describe('parseTemplate: problems point at file:line:column and the field', () => {
  test('YAML syntax error', () => {
    const err = templateError('apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: [worker\n');
    assert.equal(err.file, 'worker-job.yaml');
    assert.equal(err.path, undefined);
    assert.match(err.message, /^worker-job\.yaml:\d+:\d+: /);
    assert.ok(err.line >= 4, `line ${err.line}`);
  });

  test('a container without an image (the message from the brief)', () => {
    const source = job().replace('          image: busybox\n', '');
    const err = templateError(source);
    assert.equal(
      err.message,
      'worker-job.yaml:12:11: spec.template.spec.containers[0]: a container needs an image',
    );
    assert.deepEqual([err.line, err.column, err.path], [12, 11, 'spec.template.spec.containers[0]']);
  });

  test('kind, apiVersion, name, containers', () => {
    const err = templateError(
      'apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  template:\n    spec:\n      containers: []\n',
    );
    assert.deepEqual(
      err.problems.map((p) => `${p.line}:${p.column} ${p.path ?? ''}: ${p.reason}`),
      [
        '1:13 apiVersion: expected batch/v1, got "v1"',
        '2:7 kind: expected Job, got "Pod"',
        '3:11 metadata: a Job template needs a name with at least one letter or digit (it prefixes every Job name)',
        '7:19 spec.template.spec.containers: expected a non-empty list of containers, got a list',
      ],
    );
    assert.equal(err.message.split('\n').length, 4);
  });

  test('more than one document, and an empty file', () => {
    assert.match(
      templateError(`${job()}---\nkind: Job\n`).message,
      /:14:1: expected exactly one YAML document \(one Job\), found 2/,
    );
    assert.match(templateError('').message, /^worker-job\.yaml:1:1: the file is empty/);
  });

  test('a placeholder naming an undeclared parameter', () => {
    const err = templateError(job({ command: '["run", "--id=${ID}"]' }));
    assert.equal(err.line, 14);
    assert.equal(err.column, 34);
    assert.equal(err.path, 'spec.template.spec.containers[0].command[1]');
    assert.match(
      err.message,
      /placeholder \$\{ID\} names no declared parameter \(declared: X\); write \$\$\{ID\}/,
    );
  });

  test('a placeholder in a field that does not allow one', () => {
    const err = templateError(job({ container: '          workingDir: /work/${X}\n' }));
    assert.deepEqual(
      [err.line, err.column, err.path],
      [14, 29, 'spec.template.spec.containers[0].workingDir'],
    );
    assert.match(
      err.message,
      /placeholder \$\{X\} is not allowed here; placeholders may appear in containers\[\]\.image/,
    );
    assert.match(
      templateError(job({ container: '          name2: x\n          ${X}: y\n' })).message,
      /not allowed in a key/,
    );
  });

  test('a placeholder inside quotes in an sh -c script', () => {
    const err = templateError(job({ command: `["/bin/sh", "-c", "run --id \\"\${X}\\""]` }));
    assert.deepEqual([err.line, err.column], [14, 50]);
    assert.equal(err.path, 'spec.template.spec.containers[0].command[2]');
    assert.match(
      err.message,
      /placeholder \$\{X\} is inside quotes in a shell script; remove the quotes — kjd quotes the value itself/,
    );
  });

  test('placeholders inside $(...), backticks and comments of a script', () => {
    for (const script of ['echo $(cat ${X})', 'echo `cat ${X}`', 'true # ${X}', 'eval ${X}']) {
      const err = templateError(job({ command: JSON.stringify(['bash', '-c', script]) }));
      assert.match(err.message, /placeholder \$\{X\} is (inside|an argument of eval)/, script);
    }
  });

  test('a placeholder that would choose the program or the shell options', () => {
    const commands = [
      ['${X}', '-c', 'echo'],
      ['/bin/sh', '-${X}', 'echo'],
      ['/bin/sh', '${X}'],
      ['env', '${X}', '-c', 'echo ${X}'],
    ];
    for (const command of commands) {
      const err = templateError(job({ command: JSON.stringify(command) }));
      assert.match(
        err.message,
        /placeholder \$\{X\} may not choose the program to run/,
        JSON.stringify(command),
      );
    }
    const python = templateError(job({ command: '["python3", "-c", "print(${X})"]' }));
    assert.match(
      python.message,
      /placeholder \$\{X\} is in a program kjd cannot quote a value for; read the environment variable X/,
    );
  });

  test('all problems of one load are reported together, in file order', () => {
    const source = job({ command: '["sh", "-c", "echo \'${X}\' ${Y}"]' }).replace(
      '          image: busybox\n',
      '',
    );
    const err = templateError(source);
    assert.equal(err.problems.length, 3);
    assert.deepEqual(
      err.problems.map((p) => p.line),
      [...err.problems.map((p) => p.line)].sort((a, b) => a - b),
    );
  });
});

describe('parameter declarations', () => {
  function declarationError(parameters: string): TemplateError {
    const source = `apiVersion: batch/v1
kind: Job
metadata:
  name: worker
  annotations:
    kjd.dev/parameters: |
${parameters
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
spec:
  template:
    spec:
      containers: [{ name: c, image: i }]
`;
    return templateError(source);
  }

  test('problems name the parameter and point into the block', () => {
    const err = declarationError('A: { type: string }\nMODE: { type: enum }');
    // 8:7 is where MODE is written: the problem is a key it lacks.
    assert.equal(
      err.message,
      'worker-job.yaml:8:7: metadata.annotations["kjd.dev/parameters"].MODE.values: parameter MODE: an enum needs values: a non-empty list of strings',
    );
  });

  test('each rule', () => {
    const cases: [string, RegExp][] = [
      ['1X: { type: string }', /parameter 1X: a parameter name is letters/],
      ['KJD_X: { type: string }', /parameter KJD_X: names starting with KJD_ are reserved/],
      [
        'LD_PRELOAD: { type: string }',
        /parameter LD_PRELOAD: LD_PRELOAD is also an environment variable that changes/,
      ],
      ['X: { type: float }', /parameter X: expected one of string, integer, boolean, enum, got "float"/],
      ['X: { required: true }', /parameter X: needs a type/],
      ['X: { type: string, requird: true }', /parameter X: unknown key requird/],
      ['X: { type: string, values: [a] }', /parameter X: values only apply to type enum/],
      ['X: { type: enum, values: [1, 2] }', /enum values must be strings/],
      ['X: { type: string, pattern: "([" }', /parameter X: the pattern does not compile/],
      [
        'X: { type: integer, default: 4x2 }',
        /parameter X: the default is invalid: expected an integer, got "4x2"/,
      ],
      [
        'X: { type: string, pattern: "^a$", default: b }',
        /the default is invalid: expected a value matching/,
      ],
      ['X: { type: string, required: true, default: a }', /a required parameter cannot have a default/],
      ['X: { type: string, required: yes }', /parameter X: expected true or false, got "yes"/],
      ['X: string', /parameter X: expected a mapping like \{ type: string \}/],
      ['- X', /expected a mapping of parameter names/],
      ['X: { type: string', /not valid YAML/],
    ];
    for (const [declaration, expected] of cases) {
      assert.match(declarationError(declaration).message, expected, declaration);
    }
  });

  test('a broken declaration is not also reported as undeclared where it is used', () => {
    const err = templateError(job({ parameters: '{ X: { type: float } }', command: '["run", "${X}"]' }));
    assert.equal(err.problems.length, 1);
  });

  test('JSON is accepted, and unused parameters are fine', () => {
    const t = parseTemplate(
      job({ parameters: '{"X": {"type": "integer", "default": 3}, "UNUSED": {"type": "boolean"}}' }),
      'w.yaml',
    );
    assert.deepEqual(
      t.parameters.map((p) => [p.name, p.default]),
      [
        ['X', '3'],
        ['UNUSED', undefined],
      ],
    );
  });

  test('kjd.dev/ keys are reserved in templates', () => {
    assert.match(
      templateError(
        job({ top: '' }).replace('  annotations:\n', '  labels:\n    kjd.dev/template: x\n  annotations:\n'),
      ).message,
      /metadata\.labels\["kjd\.dev\/template"\]: keys under kjd\.dev\/ are set by kjd/,
    );
  });
});
