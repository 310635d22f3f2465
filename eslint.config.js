import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      // domain/ is pure: no I/O libraries (conventions).
      'no-restricted-imports': [
        'error',
        { patterns: ['pg', 'knex', 'ioredis', 'kafkajs', 'express', 'node:*', '../platform/*'] },
      ],
    },
  },
);
