// electron-vite: builds the main process (ESM), the sandboxed preload (CommonJS: sandboxed preloads cannot be
// ESM) and the React renderer (root renderer/, output out/renderer, also served by the loopback web transport in web mode).
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

const root = import.meta.dirname

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      rolldownOptions: {
        input: { index: resolve(root, 'electron/main/index.ts') },
        // native keychain binding and node:sqlite stay outside the bundle
        external: ['@napi-rs/keyring', /^@napi-rs\/keyring-/],
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    base: './',
    plugins: [react()],
    worker: { format: 'es' },
    build: {
      outDir: resolve(root, 'out/renderer'),
      // minified: the page parses ~3x less JavaScript before it is interactive (bench/ui.bench.ts)
      minify: true,
      chunkSizeWarningLimit: 8000,
      rolldownOptions: {
        input: { index: resolve(root, 'renderer/index.html') },
      },
    },
  },
})
