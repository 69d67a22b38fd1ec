import { memo, useEffect, useState } from 'react'
import type { EvalValue } from '../../../shared/esc/host.ts'
import { previewCommitted, useEditor } from '../stores/editor.ts'
import { useApp } from '../stores/app.ts'
import { displayValue } from '../monaco/paths.ts'
import { openEnv } from '../actions.ts'
import { importTarget, namesEnvironment, projectOf } from '../../../shared/domain/names.ts'

/** Where a value came from: `env:line` (another environment = an import). */
function Origin({ v, current }: { v: EvalValue; current: string }) {
  const def = v.trace.def
  if (!def) return null
  const local = namesEnvironment(def.environment, current)
  const target = importTarget(def.environment, projectOf(current))
  return (
    <button
      className={local ? 'origin' : 'origin imported'}
      title={local ? 'defined here' : `imported from ${def.environment}`}
      onClick={() => void openEnv(local ? current : target, def)}
    >
      {local ? `:${def.begin.line}` : `${def.environment}:${def.begin.line}`}
    </button>
  )
}

/** Memoised: with structural sharing (stores/editor.ts) only the subtrees an edit changed re-render. */
const Node = memo(function Node({ name, v, depth, current, reveal }: { name: string; v: EvalValue; depth: number; current: string; reveal: boolean }) {
  const [open, setOpen] = useState(depth < 2)
  const isObj = v.value !== null && typeof v.value === 'object' && !v.unknown && !(v.secret && !reveal)
  const entries: [string, EvalValue][] = isObj
    ? Array.isArray(v.value)
      ? v.value.map((x, i) => [`[${i}]`, x])
      : Object.entries(v.value as Record<string, EvalValue>)
    : []
  return (
    <li className="tree-node">
      <div className="tree-row">
        {isObj ? (
          <button className="twisty" onClick={() => setOpen(!open)} aria-label={open ? 'collapse' : 'expand'}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="twisty" />
        )}
        <span className="key">{name}</span>
        {!isObj && (
          <span className={v.secret ? 'val secret' : v.unknown ? 'val unknown' : `val ${typeof v.value}`} data-secret={v.secret ? 'true' : undefined}>
            {displayValue(v, reveal, 300)}
          </span>
        )}
        {isObj && !open && <span className="muted">{Array.isArray(v.value) ? `[${entries.length}]` : `{${entries.length}}`}</span>}
        {v.secret && (
          <span className="lock" title="secret">
            🔒
          </span>
        )}
        <Origin v={v} current={current} />
      </div>
      {isObj && open && (
        <ul>
          {entries.map(([k, c]) => (
            <Node key={k} name={k} v={c} depth={depth + 1} current={current} reveal={reveal} />
          ))}
        </ul>
      )}
    </li>
  )
})

const VarRow = memo(function VarRow({ name, v, current, reveal }: { name: string; v: EvalValue; current: string; reveal: boolean }) {
  return (
    <tr data-testid={`var-${name}`}>
      <td className="key">{name}</td>
      <td className={v.secret ? 'val secret' : 'val'}>{displayValue(v, reveal, 300)}</td>
      <td>
        <Origin v={v} current={current} />
      </td>
    </tr>
  )
})

/** Memoised: the editor re-renders on every keystroke; the preview only when its own state changes. */
export const Preview = memo(function Preview() {
  const id = useEditor((s) => s.id)
  const preview = useEditor((s) => s.preview)
  const previewVersion = useEditor((s) => s.previewVersion)
  // a boolean, not the version: the preview does not re-render on every keystroke, only when it turns stale
  const stale = useEditor((s) => s.previewVersion < s.version)
  const checking = useEditor((s) => s.checking)
  const reveal = useApp((s) => s.reveal)

  useEffect(() => {
    if (preview) previewCommitted(previewVersion)
  }, [preview, previewVersion])

  if (!id) return null
  const value = preview?.value
  const ev = value?.environmentVariables
  const vars = ev && ev.value && typeof ev.value === 'object' && !Array.isArray(ev.value) ? Object.entries(ev.value) : []

  return (
    <section className="preview" aria-label="Preview" data-testid="preview" data-version={previewVersion} data-stale={stale ? 'true' : 'false'}>
      <div className="toolbar">
        <strong>Preview</strong>
        <span className="muted">{checking || stale ? 'evaluating…' : 'up to date'}</span>
      </div>
      {!preview && <p className="muted pad">Evaluating…</p>}
      {preview && !value && <p className="muted pad">No value: the document could not be loaded (see the problems under the editor).</p>}
      {value && (
        <>
          <h4>environmentVariables</h4>
          {vars.length === 0 ? (
            <p className="muted pad">none</p>
          ) : (
            <table className="vars" data-testid="env-vars">
              <thead>
                <tr>
                  <th>Variable</th>
                  <th>Value</th>
                  <th>From</th>
                </tr>
              </thead>
              <tbody>
                {vars.map(([k, v]) => (
                  <VarRow key={k} name={k} v={v} current={id} reveal={reveal} />
                ))}
              </tbody>
            </table>
          )}
          <h4>values</h4>
          <ul className="tree" data-testid="values-tree">
            {Object.entries(value).map(([k, v]) => (
              <Node key={k} name={k} v={v} depth={0} current={id} reveal={reveal} />
            ))}
          </ul>
          {preview.imports.length > 0 && (
            <>
              <h4>imports (evaluation order)</h4>
              <ul className="imports">
                {preview.imports.map((i) => (
                  <li key={i}>
                    <button className="link" onClick={() => void openEnv(importTarget(i, projectOf(id)))}>
                      {i}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  )
})
