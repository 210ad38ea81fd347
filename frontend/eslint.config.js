import js from '@eslint/js';
import pluginQuery from '@tanstack/eslint-plugin-query';
import prettier from 'eslint-config-prettier';
import importPlugin from 'eslint-plugin-import';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'src/api/schema.d.ts'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [
      js.configs.recommended,
      ...tseslint.configs.recommended,
      ...pluginQuery.configs['flat/recommended'],
      jsxA11y.flatConfigs.recommended,
    ],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: {
      'react-hooks': reactHooks,
      'react-refresh': reactRefresh,
      import: importPlugin,
    },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Hooks and components share files in features (bulletproof-react's api/ files).
      'react-refresh/only-export-components': 'off',
      'jsx-a11y/label-has-associated-control': ['error', { assert: 'either', depth: 4 }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // bulletproof-react: shared code never imports features or the app; features do not
      // import each other, except messaging building on the campaigns it belongs to.
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/features/auth', from: './src/features', except: ['./auth'] },
            { target: './src/features/outbox', from: './src/features', except: ['./outbox'] },
            { target: './src/features/campaigns', from: './src/features', except: ['./campaigns'] },
            {
              target: './src/features/messaging',
              from: './src/features',
              except: ['./messaging', './campaigns'],
            },
            {
              target: './src/features/settings',
              from: './src/features',
              except: ['./settings', './campaigns'],
            },
            { target: './src/features', from: './src/app' },
            {
              target: ['./src/components', './src/lib', './src/api', './src/types', './src/config'],
              from: ['./src/features', './src/app', './src/utils'],
            },
          ],
        },
      ],
      'import/no-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.test.{ts,tsx}', 'src/testing/**'],
    rules: { 'react-refresh/only-export-components': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
