// Lint: recommended rules plus the runtime layering rule (see docs/architecture.md).
// shared/ is pure (no Node built-ins, no Electron, no DOM-only modules); renderer/ may import shared/ only;
// electron/ and server/ may import shared/ but never renderer/.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'https', 'stream', 'url', 'util', 'events', 'worker_threads']

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'release/**', 'test-results/**', 'playwright-report/**', 'test/e2e/screenshots/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'shared/ is pure: no Node built-ins (allowed layers: shared).' },
          { group: ['electron', 'electron/*', '**/electron/**', '**/renderer/**', '**/server/**'], message: 'shared/ may import only shared/ and pure libraries.' },
        ],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'renderer/ never touches Node: go through the IPC contract (allowed layers: renderer, shared).' },
          { group: ['electron', '**/electron/**', '**/server/**'], message: 'renderer/ may import only renderer/ and shared/ (use window.envelope).' },
        ],
      }],
    },
  },
  {
    files: ['electron/**/*.ts', 'server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/renderer/**'], message: 'main-process and server code may not import renderer/.' }] }],
    },
  },
  {
    // the untyped IPC path is a lint error: only the typed wrappers touch ipcMain/ipcRenderer (docs/screens.md)
    files: ['electron/**/*.ts'],
    ignores: ['electron/main/ipc.ts', 'electron/preload/index.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/renderer/**'], message: 'main-process and server code may not import renderer/.' }],
        paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'use the typed IPC contract: electron/main/ipc.ts (main side) or window.envelope from electron/preload/index.ts (shared/ipc.ts).' }],
      }],
    },
  },
)
