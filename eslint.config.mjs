// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'jest.config.js', 'packages/client/src/schema.ts', 'packages/client/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The domain stays pure: no framework, no I/O. Everything it needs arrives in commands and metadata.
    files: ['libs/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*'], message: 'The domain lib imports no framework.' },
            { group: ['mongoose', 'mongodb', 'kafkajs'], message: 'The domain lib does no I/O.' },
            { group: ['child_process', 'node:child_process', 'fs', 'node:fs', 'fs/*', 'node:fs/*'], message: 'The domain lib does no I/O.' },
            { group: ['@app/*', '!@app/domain'], message: 'The domain lib depends on nothing else of ours.' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time arrives in command metadata.' },
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Time arrives in command metadata.' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Ids arrive in command metadata.' },
      ],
    },
  },
  // Each lib imports only the libs below it: contracts and helm the domain; the event store (generic) the
  // contracts; the release store the event store; none of them Nest (platform is the Nest glue).
  ...[
    { lib: 'contracts', allowed: ['domain'] },
    { lib: 'helm', allowed: ['domain'] },
    { lib: 'event-store', allowed: ['domain', 'contracts'] },
    { lib: 'release-store', allowed: ['domain', 'contracts', 'event-store'] },
  ].map(({ lib, allowed }) => ({
    files: [`libs/${lib}/**/*.ts`],
    ignores: ['**/*.spec.ts', '**/*.spec-support.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*'], message: `libs/${lib} imports no framework.` },
            { group: ['@app/*', ...allowed.map((a) => `!@app/${a}`)], message: `libs/${lib} may import only ${allowed.map((a) => `@app/${a}`).join(', ')}.` },
          ],
        },
      ],
    },
  })),
  {
    files: ['scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Plain CommonJS scripts that load the built apps (dist).
    files: ['scripts/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly' } },
    rules: { 'no-console': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
