// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'jest.config.js'] },
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
  {
    files: ['scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
