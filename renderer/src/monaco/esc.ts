/**
 * ESC language features in Monaco, fed by the live preview and the environment list:
 * - completion: `fn::` builtins, environment names under `imports:`, `${}` paths from the evaluated value;
 * - hover: builtin docs, the value behind a `${}` path (secrets masked) and where it was defined;
 * - go to definition (F12 / Ctrl+click): `${}` paths to their definition, across imports; import names
 *   to the imported environment.
 * Navigation to another environment goes through `openAt` (the app's guarded env switch).
 */
import type * as Monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import type { EvalValue, Range as EscRange } from '../../../shared/esc/host.ts'
import { childKeys, displayValue, importNameOnLine, interpolationAt, lookup, parsePath, resolveEnvName, sectionOf } from './paths.ts'

export const builtins: { name: string; signature: string; doc: string; snippet: string }[] = [
  { name: 'fn::secret', signature: 'fn::secret: <string>', doc: 'Marks a value as secret. Stored encrypted; shown as [secret] unless revealed.', snippet: 'fn::secret: ${1:value}' },
  { name: 'fn::join', signature: 'fn::join: [<separator>, [<items>...]]', doc: 'Joins strings with a separator.', snippet: 'fn::join: ["${1:,}", [${2}]]' },
  { name: 'fn::split', signature: 'fn::split: [<separator>, <string>]', doc: 'Splits a string into a list.', snippet: 'fn::split: ["${1:,}", ${2:string}]' },
  { name: 'fn::concat', signature: 'fn::concat: [[...], [...]]', doc: 'Concatenates lists.', snippet: 'fn::concat: [[${1}], [${2}]]' },
  { name: 'fn::toJSON', signature: 'fn::toJSON: <value>', doc: 'Encodes a value as a JSON string.', snippet: 'fn::toJSON: ${1}' },
  { name: 'fn::fromJSON', signature: 'fn::fromJSON: <string>', doc: 'Decodes a JSON string into a value.', snippet: 'fn::fromJSON: ${1}' },
  { name: 'fn::toBase64', signature: 'fn::toBase64: <string>', doc: 'Encodes a string as base64.', snippet: 'fn::toBase64: ${1}' },
  { name: 'fn::fromBase64', signature: 'fn::fromBase64: <string>', doc: 'Decodes a base64 string.', snippet: 'fn::fromBase64: ${1}' },
  { name: 'fn::toString', signature: 'fn::toString: <value>', doc: 'Converts a value to its string form.', snippet: 'fn::toString: ${1}' },
  { name: 'fn::final', signature: 'fn::final: <value>', doc: 'A value that importing environments may not override.', snippet: 'fn::final: ${1}' },
  { name: 'fn::validate', signature: 'fn::validate: {schema: <JSON schema>, value: <value>}', doc: 'Checks a value against a JSON schema; each violation is a diagnostic.', snippet: 'fn::validate:\n  schema: ${1:{}}\n  value: ${2}' },
  { name: 'fn::open', signature: 'fn::open: {provider: <name>, inputs: {...}}', doc: 'Opens a dynamic provider (long form). Unknown in check mode.', snippet: 'fn::open:\n  provider: ${1}\n  inputs: ${2:{}}' },
  { name: 'fn::open::', signature: 'fn::open::<provider>: {inputs}', doc: 'Opens the named dynamic provider with the given inputs. Unknown in check mode.', snippet: 'fn::open::${1:provider}: ${2:{}}' },
  { name: 'fn::rotate::', signature: 'fn::rotate::<rotator>: {inputs, state}', doc: 'A rotated secret: `rotate` writes the new state back as a new revision.', snippet: 'fn::rotate::${1:rotator}:\n  inputs: ${2:{}}\n  state: ${3:{}}' },
]

export interface EscHost {
  currentId(): string | undefined
  preview(): Record<string, EvalValue> | undefined
  envNames(): string[]
  reveal(): boolean
  /** opens another environment (guarded) and reveals the range */
  openAt(id: string, range?: EscRange): void
}

const lineRange = (monaco: typeof Monaco, line: number, start: number, end: number) => new monaco.Range(line, start, line, end)

/** Definition target of the word/path at a position. */
export function definitionAt(
  host: EscHost,
  model: Monaco.editor.ITextModel,
  position: Monaco.Position,
): { env: string; range?: EscRange } | undefined {
  const line = model.getLineContent(position.lineNumber)
  const interp = interpolationAt(line, position.column)
  if (interp) {
    const segs = parsePath(interp.path)
    if (!segs) return undefined
    // the nearest prefix that has a definition (e.g. a path into an opaque object)
    for (let n = segs.length; n > 0; n--) {
      const v = lookup(host.preview(), segs.slice(0, n))
      const def = v?.trace.def
      if (def) return { env: def.environment, range: def }
    }
    return undefined
  }
  const lines = model.getLinesContent()
  if (sectionOf(lines, position.lineNumber - 1) === 'imports') {
    const name = importNameOnLine(line)
    const id = host.currentId()
    if (name && id) return { env: resolveEnvName(name, id.split('/')[0] ?? '') }
  }
  return undefined
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
        // ${ path completion
        const open = before.lastIndexOf('${')
        if (open >= 0 && !before.slice(open).includes('}')) {
          const typed = before.slice(open + 2)
          const dot = Math.max(typed.lastIndexOf('.'), typed.lastIndexOf('['))
          const parent = dot >= 0 ? (parsePath(typed.slice(0, dot)) ?? []) : []
          const prefixLen = typed.length - (dot + 1)
          const range = lineRange(monaco, position.lineNumber, position.column - prefixLen, position.column)
          const root = host.preview()
          for (const key of childKeys(root, parent)) {
            const v = lookup(root, [...parent, key.startsWith('[') ? Number(key.slice(1, -1)) : key])
            suggestions.push({
              label: key,
              kind: monaco.languages.CompletionItemKind.Property,
              insertText: key,
              detail: displayValue(v, host.reveal(), 80),
              range,
            })
          }
          if (parent.length === 0) {
            suggestions.push({ label: 'context', kind: monaco.languages.CompletionItemKind.Module, insertText: 'context', detail: 'execution context', range })
          }
          return { suggestions }
        }
        const lines = model.getLinesContent()
        const section = sectionOf(lines, position.lineNumber - 1)
        if (section === 'imports' && /^\s*-\s*[\w./@-]*$/.test(before)) {
          const m = /[\w./@-]*$/.exec(before)
          const len = m ? m[0].length : 0
          const range = lineRange(monaco, position.lineNumber, position.column - len, position.column)
          const self = host.currentId()
          for (const name of host.envNames()) {
            if (name === self) continue
            suggestions.push({ label: name, kind: monaco.languages.CompletionItemKind.Reference, insertText: name, detail: 'environment', range })
          }
          return { suggestions }
        }
        // builtins after a typed `f`/`fn`/`fn::…` at a key position, or on explicit Ctrl+Space
        const fm = /(?:^|[\s{,-])(fn(?::(?::[\w:]*)?)?|f)$/.exec(before)
        const explicit = context.triggerKind === monaco.languages.CompletionTriggerKind.Invoke && /(?:^\s*-?\s*|:\s*)$/.test(before)
        if (fm || explicit) {
          const len = fm?.[1] ? fm[1].length : 0
          const range = lineRange(monaco, position.lineNumber, position.column - len, position.column)
          for (const b of builtins) {
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
        const line = model.getLineContent(position.lineNumber)
        const interp = interpolationAt(line, position.column)
        if (interp) {
          const segs = parsePath(interp.path)
          const v = segs ? lookup(host.preview(), segs) : undefined
          const contents: Monaco.IMarkdownString[] = [{ value: `**\${${interp.path}}**` }]
          if (v) {
            contents.push({ value: '```\n' + displayValue(v, host.reveal(), 500) + '\n```' })
            if (v.secret) contents.push({ value: '_secret_' })
            const def = v.trace.def
            if (def) contents.push({ value: `defined in \`${def.environment}\` at line ${def.begin.line}, column ${def.begin.column}` })
          } else contents.push({ value: '_no value (see the problems below the editor)_' })
          return { range: lineRange(monaco, position.lineNumber, interp.start, interp.end), contents }
        }
        const word = /fn::[\w:]*/g
        for (let m = word.exec(line); m; m = word.exec(line)) {
          const start = m.index + 1
          const end = start + m[0].length
          if (position.column < start || position.column > end) continue
          const name = m[0].replace(/:$/, '')
          const b =
            builtins.find((x) => x.name === name) ??
            builtins.find((x) => x.name.endsWith('::') && name.startsWith(x.name))
          if (!b) return { range: lineRange(monaco, position.lineNumber, start, end), contents: [{ value: `unknown builtin \`${name}\`` }] }
          return { range: lineRange(monaco, position.lineNumber, start, end), contents: [{ value: `**${b.signature}**` }, { value: b.doc }] }
        }
        const lines = model.getLinesContent()
        if (sectionOf(lines, position.lineNumber - 1) === 'imports') {
          const name = importNameOnLine(line)
          const id = host.currentId()
          if (name && id) {
            const target = resolveEnvName(name, id.split('/')[0] ?? '')
            const exists = host.envNames().includes(target)
            return { contents: [{ value: `import **${target}**` }, { value: exists ? 'F12 or Ctrl+click opens it' : '_no such environment_' }] }
          }
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
    const project = host.currentId()?.split('/')[0] ?? ''
    host.openAt(resolveEnvName(target.env, project), target.range)
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
