// ESLint (flat config): typescript-eslint's recommended rules on the TypeScript sources and the
// plain scripts; layout is Prettier's job (.prettierrc.json), not ESLint's. `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '**/build/', 'images/', 'examples/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript itself reports undefined names (and knows Node's globals).
      'no-undef': 'off',
      // Control characters are matched on purpose: escaping them in messages, parsing binary formats.
      'no-control-regex': 'off',
      // `_`-prefixed names are unused on purpose (callback positions).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Plain CommonJS scripts that node runs as they are (in the test guest, in images).
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', Buffer: 'readonly', __filename: 'readonly', __dirname: 'readonly' },
    },
    rules: { 'no-undef': 'error', '@typescript-eslint/no-require-imports': 'off' },
  },
);
