// Lint: recommended rules, typed rules where they catch real defects (a promise nobody awaits), and the layer
// table (eslint-rules/layers.js, shown in docs/architecture.md): which folder may import which, checked on
// every import. `npm run check` runs the format check, this lint, the type-checks and the import-cycle check.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'
import layers from './eslint-rules/layers.js'

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'out/**',
      'dist/**',
      'release/**',
      'test-results/**',
      'playwright-report/**',
      'test/e2e/screenshots/**',
      'test/esc-conformance/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { local: layers },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'local/layers': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // typed rules: a floating or misused promise loses an error (or an acknowledged write) silently
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['types/**', 'eslint-rules/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // the untyped IPC path is a lint error: only the typed wrappers touch ipcMain/ipcRenderer (docs/screens.md)
    files: ['electron/**/*.ts'],
    ignores: ['electron/main/ipc.ts', 'electron/preload/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              importNames: ['ipcMain', 'ipcRenderer'],
              message: 'use the typed IPC contract: electron/main/ipc.ts (main side) or window.envelope from electron/preload/index.ts (shared/ipc.ts).',
            },
          ],
        },
      ],
    },
  },
)
