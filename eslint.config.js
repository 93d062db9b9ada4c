// Type-aware lint. The rules below are the ones that catch real bugs in a
// service full of promises and sockets (floating promises, misused async),
// plus size limits that keep modules small (see ../shared/style.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .kjd/ holds the local clusters' state, including the real node's image
  // snapshots (kjd's own dist/ among them): never source to lint.
  { ignores: ['dist/', 'node_modules/', 'controlplane/', 'coverage/', '.kjd/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['bin/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 15],
      // @kubernetes/client-node models are classes that the library itself
      // (and every user) builds as plain object literals; its serializer reads
      // fields, never prototypes.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'no-console': 'error',
    },
  },
  {
    // Test files: node:test's describe/it return promises the runner awaits.
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      'max-lines-per-function': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Command-line entry points talk to a person on stdout/stderr.
    files: ['harness/cli.ts', 'harness/demo.ts', 'src/cli/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The launcher is plain JS that an old Node must parse; it imports the built CLI untyped.
    files: ['bin/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-call': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
