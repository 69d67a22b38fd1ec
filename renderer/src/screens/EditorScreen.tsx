import { memo, useCallback, useEffect, useRef, useState } from 'react'
import Editor from '@monaco-editor/react'
import type * as Monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import { setupMonaco } from '../monaco/setup.ts'
import { addCrossEnvNavigation, registerEsc } from '../monaco/esc.ts'
import type { EscHost } from '../monaco/esc.ts'
import { useEditor, isDirty } from '../stores/editor.ts'
import { useEnvs } from '../stores/envs.ts'
import { useApp } from '../stores/app.ts'
import { notify } from '../stores/notices.ts'
import { openEnv, useRevealTarget } from '../actions.ts'
import { Preview } from '../components/Preview.tsx'
import { diagnosticsFor, toMarkers } from '../monaco/markers.ts'
import { secretRanges } from '../monaco/secrets.ts'
import { importTarget, namesEnvironment, projectOf } from '../../../shared/domain/names.ts'

const monaco = setupMonaco()

const host: EscHost = {
  currentId: () => useEditor.getState().id,
  preview: () => useEditor.getState().preview?.value,
  envNames: () => useEnvs.getState().list.map((e) => e.id),
  reveal: () => useApp.getState().reveal,
  openAt: (id, range) => void openEnv(id, range),
}
registerEsc(monaco, host)

// read-only hooks for the e2e tests and the benchmark (markers as Monaco holds them, the live editor)
;(window as unknown as { __envelopeMarkers: () => Monaco.editor.IMarker[] }).__envelopeMarkers = () => monaco.editor.getModelMarkers({ owner: 'envelope' })

const modelUri = (id: string | undefined) => (id ? monaco.Uri.parse(`envelope://env/${id}.yaml`).toString() : '')

/** one object for the component's lifetime: a new literal per render would make the wrapper call updateOptions */
const editorOptions: Monaco.editor.IStandaloneEditorConstructionOptions = {
  minimap: { enabled: false },
  fontSize: 13,
  tabSize: 2,
  insertSpaces: true,
  scrollBeyondLastLine: false,
  automaticLayout: true,
  renderWhitespace: 'boundary',
  // sticky scroll races model replacement (Monaco 0.52: "Illegal value for lineNumber")
  stickyScroll: { enabled: false },
  quickSuggestions: { other: true, strings: true, comments: false },
}

export function EditorScreen() {
  const id = useEditor((s) => s.id)
  // NOT the buffer: Monaco holds the text while typing, so a keystroke re-renders nothing here (see the
  // store subscription below, which pushes outside changes such as load/reload into the model)
  const saved = useEditor((s) => s.saved)
  const baseRevision = useEditor((s) => s.baseRevision)
  // diagnostics only (kept identical across answers when unchanged): the editor does not re-render per preview
  const diagnostics = useEditor((s) => s.preview?.diagnostics)
  const saving = useEditor((s) => s.saving)
  const decrypted = useEditor((s) => s.decrypted)
  const dirty = useEditor(isDirty)
  const theme = useApp((s) => s.theme)
  const reveal = useApp((s) => s.reveal)
  const revealTarget = useRevealTarget((s) => s.target)
  const message = useEditor((s) => s.message)
  const changedElsewhere = useEditor((s) => s.changedElsewhere)
  const editorRef = useRef<Monaco.editor.IStandaloneCodeEditor | null>(null)
  const masks = useRef<Monaco.editor.IEditorDecorationsCollection | null>(null)
  /** the last text the editor itself reported (typed), so the store → model sync skips it */
  const typed = useRef<string | undefined>(undefined)
  const [mounted, setMounted] = useState(false)

  // diagnostics → markers at their exact ranges
  useEffect(() => {
    const model = editorRef.current?.getModel()
    if (!model || !id) return
    monaco.editor.setModelMarkers(model, 'envelope', toMarkers(monaco, diagnosticsFor(diagnostics ?? [], id), model))
  }, [diagnostics, id, mounted])

  // mask plaintext secrets unless revealed (on mount, on the reveal toggle, and on every buffer change)
  const updateMasks = useCallback(() => {
    const ed = editorRef.current
    const model = ed?.getModel()
    if (!ed || !model) return
    const show = useApp.getState().reveal
    // nothing to mask and nothing masked: skip the scan (the common keystroke)
    if (!show && masks.current && masks.current.length === 0 && !model.getValue().includes('fn::secret')) return
    masks.current ??= ed.createDecorationsCollection()
    masks.current.set(
      show
        ? []
        : secretRanges(monaco, model).map((range) => ({
            range,
            options: { inlineClassName: 'secret-mask', hoverMessage: { value: 'secret (toggle “Reveal secrets” to show)' } },
          })),
    )
  }, [])
  useEffect(updateMasks, [reveal, mounted, updateMasks])

  // the store's buffer → the model, for changes that did not come from typing (load, reload after save,
  // rollback, conflict "reload"); typed text is already in the model and is skipped without a copy
  useEffect(() => {
    const sync = (text: string) => {
      const ed = editorRef.current
      const model = ed?.getModel()
      // only into this environment's model: on a switch the store holds the next environment before the
      // editor of this one unmounts
      if (!ed || !model || useEditor.getState().id !== id || model.uri.toString() !== modelUri(id)) return
      if (text === typed.current || text === model.getValue()) return
      typed.current = text
      if (ed.getOption(monaco.editor.EditorOption.readOnly)) model.setValue(text)
      else {
        ed.executeEdits('envelope', [{ range: model.getFullModelRange(), text, forceMoveMarkers: true }])
        ed.pushUndoStop()
      }
    }
    typed.current = undefined
    sync(useEditor.getState().buffer)
    return useEditor.subscribe((st, prev) => {
      if (st.buffer !== prev.buffer) {
        sync(st.buffer)
        updateMasks()
      }
    })
  }, [id, mounted, updateMasks])

  // reveal toggle: load the definition decrypted (or encrypted again) when nothing is unsaved
  useEffect(() => {
    const st = useEditor.getState()
    if (!st.id || st.decrypted === reveal) return
    if (isDirty(st)) {
      if (reveal) notify('Save your changes to see stored secrets decrypted in the editor')
      return
    }
    void st.load(st.id, reveal ? { decrypt: true } : undefined)
  }, [reveal, id])

  // go to definition across environments: place the cursor once the target is open
  useEffect(() => {
    const ed = editorRef.current
    if (!ed || !revealTarget || revealTarget.id !== id) return
    // wait for the editor of this environment (the previous one may still be referenced while it remounts)
    if (ed.getModel()?.uri.toString() !== monaco.Uri.parse(`envelope://env/${id}.yaml`).toString() || ed.getModel()?.getValue() !== useEditor.getState().buffer)
      return
    const r = revealTarget.range
    const range = new monaco.Range(r.begin.line, r.begin.column, r.end.line, Math.max(r.end.column, r.begin.column))
    ed.setSelection(range)
    ed.revealRangeInCenter(range)
    ed.focus()
    useRevealTarget.getState().set(undefined)
  }, [revealTarget, id, saved, mounted])

  const goTo = useCallback((line: number, col: number) => {
    const ed = editorRef.current
    if (!ed) return
    ed.setPosition({ lineNumber: line, column: col })
    ed.revealLineInCenter(line)
    ed.focus()
  }, [])

  if (!id) return null
  const diags = diagnostics ?? []
  const errors = diags.filter((d) => d.severity === 'error').length

  return (
    <div className="editor-screen">
      <div className="editor-pane">
        <div className="toolbar">
          <span className="env-title" data-testid="editor-title">
            {id}
            {dirty && (
              <span className="dirty-dot" title="unsaved changes">
                {' '}
                ●
              </span>
            )}
          </span>
          <span className="muted" data-testid="editor-revision">
            revision {baseRevision}
            {decrypted ? ' · secrets decrypted' : ''}
          </span>
          {changedElsewhere !== undefined && (
            <span className="changed-elsewhere" role="status" data-testid="changed-elsewhere">
              revision {changedElsewhere} saved elsewhere{' '}
              <button
                className="small"
                onClick={() => void reloadChanged(id)}
                title={dirty ? 'Reload the saved revision (your unsaved edits are lost)' : 'Show the saved revision'}
                data-testid="changed-elsewhere-reload"
              >
                Reload
              </button>
            </span>
          )}
          <span className="spacer" />
          <span className={errors ? 'status error' : 'status ok'} data-testid="diag-status">
            {errors ? `${errors} error${errors > 1 ? 's' : ''}` : 'no errors'}
          </span>
          <input
            className="message"
            placeholder="Revision message (optional)"
            value={message}
            onChange={(e) => useEditor.getState().setMessage(e.target.value)}
            data-testid="save-message"
          />
          <button className="primary" disabled={!dirty || saving} onClick={() => void useEditor.getState().save()} title="Save (Ctrl+S)" data-testid="save">
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
        <div className="monaco-host" data-testid="editor">
          <Editor
            key={id}
            path={`envelope://env/${id}.yaml`}
            language="yaml"
            theme={theme === 'dark' ? 'vs-dark' : 'vs'}
            defaultValue={useEditor.getState().buffer}
            onChange={(v) => {
              typed.current = v ?? ''
              useEditor.getState().setBuffer(v ?? '')
            }}
            onMount={(ed) => {
              editorRef.current = ed
              masks.current = null
              addCrossEnvNavigation(monaco, ed, host)
              ;(window as unknown as { __envelopeEditor?: unknown }).__envelopeEditor = ed
              setMounted((m) => !m)
            }}
            options={editorOptions}
          />
        </div>
        <Problems id={id} onGo={goTo} />
      </div>
      <Preview />
    </div>
  )
}

/** Loads the revision saved elsewhere, asking first when there are unsaved edits (they would be lost). */
async function reloadChanged(id: string): Promise<void> {
  const st = useEditor.getState()
  if (isDirty(st)) {
    const { action } = await useApp.getState().ask({
      title: 'Reload the saved revision?',
      body: `${id} has unsaved edits; reloading replaces them with revision ${st.changedElsewhere ?? ''}. To keep them, save instead (you will be asked how to merge).`,
      actions: [
        { label: 'Keep editing', value: 'cancel' },
        { label: 'Reload', value: 'reload', danger: true },
      ],
    })
    if (action !== 'reload') return
  }
  await useEditor.getState().load(id, useEditor.getState().decrypted ? { decrypt: true } : undefined)
}

const Problems = memo(function Problems({ id, onGo }: { id: string; onGo(line: number, col: number): void }) {
  const diags = useEditor((s) => s.preview?.diagnostics) ?? []
  if (diags.length === 0) return null
  return (
    <ul className="problems" data-testid="problems">
      {diags.map((d, i) => {
        const here = d.range && namesEnvironment(d.range.environment, id)
        const where = d.range ? `${d.range.environment}:${d.range.begin.line}:${d.range.begin.column}` : ''
        return (
          <li key={i} className={d.severity}>
            <span className="sev">{d.severity}</span>
            {here && d.range ? (
              <button className="link" onClick={() => d.range && onGo(d.range.begin.line, d.range.begin.column)}>
                {where}
              </button>
            ) : d.range ? (
              <button className="link" onClick={() => d.range && void openEnv(importTarget(d.range.environment, projectOf(id)), d.range)}>
                {where}
              </button>
            ) : null}{' '}
            {d.summary}
            {d.path ? <span className="muted"> ({d.path})</span> : null}
          </li>
        )
      })}
    </ul>
  )
})
