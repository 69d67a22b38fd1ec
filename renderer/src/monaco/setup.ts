/**
 * Monaco, loaded locally (never from a CDN): the editor core with all editor features, the YAML
 * tokenizer, monaco-yaml (YAML language service in its own worker) and our ESC features (esc.ts).
 * Pinned monaco-editor 0.52.2 with monaco-yaml 5.5 (see docs/toolchain: newer Monaco changed
 * createWebWorker and breaks monaco-yaml).
 */
import 'monaco-editor/esm/vs/editor/edcore.main.js'
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import 'monaco-editor/esm/vs/basic-languages/yaml/yaml.contribution.js'
import { loader } from '@monaco-editor/react'
import { configureMonacoYaml } from 'monaco-yaml'
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker'
import YamlWorker from 'monaco-yaml/yaml.worker.js?worker'
import { escSchema } from './schema.ts'

declare global {
  interface Window {
    MonacoEnvironment?: monaco.Environment
  }
}

let done = false

export function setupMonaco(): typeof monaco {
  if (done) return monaco
  done = true
  window.MonacoEnvironment = {
    getWorker(_moduleId: string, label: string) {
      return label === 'yaml' ? new YamlWorker() : new EditorWorker()
    },
  }
  loader.config({ monaco })
  configureMonacoYaml(monaco, {
    enableSchemaRequest: false,
    // the evaluator's diagnostics (env.check) are the one source of markers, syntax errors included;
    // monaco-yaml's own validation would mark the same YAML errors twice
    validate: false,
    completion: true,
    hover: true,
    schemas: [{ uri: 'envelope://schema/environment.json', fileMatch: ['envelope://env/**', '**/*.env.yaml'], schema: escSchema }],
  })
  return monaco
}

export { monaco }
