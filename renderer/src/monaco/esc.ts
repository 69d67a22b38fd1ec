/**
 * ESC language features in Monaco, fed by the live preview and the environment list:
 * - completion: `fn::` builtins, environment names under `imports:`, `${}` paths from the evaluated value;
 * - hover: builtin docs, the value behind a `${}` path (secrets masked) and where it was defined;
 * - go to definition (F12 / Ctrl+click): `${}` paths to their definition, across imports; import names
 *   to the imported environment.
 * Navigation to another environment goes through `openAt` (the app's guarded env switch).
 * The facts (what is under the cursor, what to complete) come from shared/domain/editor.ts; this module
 * only turns them into Monaco objects.
 */
import type * as Monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import type { EvalValue, Range as EscRange } from '../../../shared/esc/host.ts'
import {
  BUILTINS,
  builtinNamed,
  builtinTyped,
  completePath,
  importAt,
  importNameTyped,
  openInterpolation,
  sectionAt,
  symbolAt,
} from '../../../shared/domain/editor.ts'
import { importTarget, projectOf } from '../../../shared/domain/names.ts'
import { displayValue } from './paths.ts'

export interface EscHost {
  currentId(): string | undefined
  preview(): Record<string, EvalValue> | undefined
  envNames(): string[]
  reveal(): boolean
  /** opens another environment (guarded) and reveals the range */
  openAt(id: string, range?: EscRange): void
}

const lineRange = (monaco: typeof Monaco, line: number, start: number, end: number) => new monaco.Range(line, start, line, end)

const monacoRange = (monaco: typeof Monaco, r: EscRange) => new monaco.Range(r.begin.line, r.begin.column, r.end.line, r.end.column)

/** What is under the cursor, from the buffer's syntax tree and the preview's values. */
function symbolUnder(host: EscHost, model: Monaco.editor.ITextModel, position: Monaco.Position) {
  return symbolAt(host.currentId() ?? '', model.getValue(), { values: host.preview() }, position.lineNumber, position.column)
}

/** The environment an import on the cursor's line names (in the current project when it has one part). */
function importUnder(host: EscHost, model: Monaco.editor.ITextModel, position: Monaco.Position): string | undefined {
  const id = host.currentId()
  if (!id) return undefined
  const decl = importAt(id, model.getValue(), position.lineNumber)
  return decl && importTarget(decl.name, projectOf(id))
}

/** Definition target of the reference or import at a position. */
export function definitionAt(host: EscHost, model: Monaco.editor.ITextModel, position: Monaco.Position): { env: string; range?: EscRange } | undefined {
  const s = symbolUnder(host, model, position)
  if (s?.reference !== undefined) return s.definition && { env: s.definition.environment, range: s.definition }
  const env = importUnder(host, model, position)
  return env ? { env } : undefined
}

export function registerEsc(monaco: typeof Monaco, host: EscHost): Monaco.IDisposable[] {
  const disposables: Monaco.IDisposable[] = []

  disposables.push(
    monaco.languages.registerCompletionItemProvider('yaml', {
      triggerCharacters: [':', '.', '{', '/', '-', ' '],
      provideCompletionItems(model, position, context) {
        const line = model.getLineContent(position.lineNumber)
        const before = line.slice(0, position.column - 1)
        const suggestions: Monaco.languages.CompletionItem[] = []
        // ${ path completion: every key at the path typed so far (Monaco filters by the partly typed step)
        const typed = openInterpolation(before)
        if (typed !== undefined) {
          const { from, items } = completePath({ values: host.preview() }, typed, { filter: false })
          const range = lineRange(monaco, position.lineNumber, position.column - (typed.length - from), position.column)
          for (const item of items) {
            suggestions.push({
              label: item.label,
              kind: monaco.languages.CompletionItemKind.Property,
              insertText: item.insertText,
              detail: displayValue(item.value, host.reveal(), 80),
              range,
            })
          }
          if (from === 0) {
            suggestions.push({ label: 'context', kind: monaco.languages.CompletionItemKind.Module, insertText: 'context', detail: 'execution context', range })
          }
          return { suggestions }
        }
        const lines = model.getLinesContent()
        const importTyped = sectionAt(lines, position.lineNumber - 1) === 'imports' ? importNameTyped(before) : undefined
        if (importTyped !== undefined) {
          const range = lineRange(monaco, position.lineNumber, position.column - importTyped.length, position.column)
          const self = host.currentId()
          for (const name of host.envNames()) {
            if (name === self) continue
            suggestions.push({ label: name, kind: monaco.languages.CompletionItemKind.Reference, insertText: name, detail: 'environment', range })
          }
          return { suggestions }
        }
        // builtins after a typed `f`/`fn`/`fn::…` at a key position, or on explicit Ctrl+Space
        const fn = builtinTyped(before, context.triggerKind === monaco.languages.CompletionTriggerKind.Invoke)
        if (fn !== undefined) {
          const range = lineRange(monaco, position.lineNumber, position.column - fn.length, position.column)
          for (const b of BUILTINS) {
            suggestions.push({
              label: b.name,
              kind: monaco.languages.CompletionItemKind.Function,
              insertText: b.snippet,
              insertTextRules: monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet,
              detail: b.signature,
              documentation: b.doc,
              range,
            })
          }
        }
        return { suggestions }
      },
    }),
  )

  disposables.push(
    monaco.languages.registerHoverProvider('yaml', {
      provideHover(model, position) {
        const s = symbolUnder(host, model, position)
        if (s?.reference !== undefined) {
          const v = s.value
          const contents: Monaco.IMarkdownString[] = [{ value: `**\${${s.reference}}**` }]
          if (v) {
            contents.push({ value: '```\n' + displayValue(v, host.reveal(), 500) + '\n```' })
            if (v.secret) contents.push({ value: '_secret_' })
            const def = s.definition
            if (def) contents.push({ value: `defined in \`${def.environment}\` at line ${def.begin.line}, column ${def.begin.column}` })
          } else contents.push({ value: '_no value (see the problems below the editor)_' })
          return { range: monacoRange(monaco, s.range), contents }
        }
        if (s?.key && s.key.name.startsWith('fn::')) {
          const b = builtinNamed(s.key.name)
          const range = monacoRange(monaco, s.key.range)
          if (!b) return { range, contents: [{ value: `unknown builtin \`${s.key.name}\`` }] }
          return { range, contents: [{ value: `**${b.signature}**` }, { value: b.doc }] }
        }
        const target = importUnder(host, model, position)
        if (target) {
          const exists = host.envNames().includes(target)
          return { contents: [{ value: `import **${target}**` }, { value: exists ? 'F12 or Ctrl+click opens it' : '_no such environment_' }] }
        }
        return null
      },
    }),
  )

  disposables.push(
    monaco.languages.registerDefinitionProvider('yaml', {
      provideDefinition(model, position) {
        const target = definitionAt(host, model, position)
        const id = host.currentId()
        if (!target || !target.range || target.env !== id) return null
        const r = target.range
        return { uri: model.uri, range: new monaco.Range(r.begin.line, r.begin.column, r.end.line, Math.max(r.end.column, r.begin.column + 1)) }
      },
    }),
  )

  return disposables
}

/** Adds F12 / Ctrl+click navigation across environments to an editor. */
export function addCrossEnvNavigation(monaco: typeof Monaco, editor: Monaco.editor.IStandaloneCodeEditor, host: EscHost): Monaco.IDisposable[] {
  const go = (position: Monaco.Position | null): boolean => {
    const model = editor.getModel()
    if (!model || !position) return false
    const target = definitionAt(host, model, position)
    if (!target) return false
    if (target.env === host.currentId() && target.range) {
      const r = target.range
      editor.setSelection(new monaco.Range(r.begin.line, r.begin.column, r.end.line, r.end.column))
      editor.revealRangeInCenter(new monaco.Range(r.begin.line, r.begin.column, r.end.line, r.end.column))
      return true
    }
    host.openAt(importTarget(target.env, projectOf(host.currentId() ?? '')), target.range)
    return true
  }
  const action = editor.addAction({
    id: 'envelope.goToDefinition',
    label: 'Go to Definition (across imports)',
    keybindings: [monaco.KeyCode.F12],
    contextMenuGroupId: 'navigation',
    run: (ed) => void go(ed.getPosition()),
  })
  const mouse = editor.onMouseDown((e) => {
    if ((e.event.ctrlKey || e.event.metaKey) && e.target.position) {
      if (go(e.target.position)) e.event.preventDefault()
    }
  })
  return [action, mouse]
}
