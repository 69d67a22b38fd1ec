import { useEffect, useState } from 'react'
import type { ExportFormat, ExportResult } from '../../../shared/ipc.ts'
import { exportFormats } from '../../../shared/ipc.ts'
import { api } from '../api/client.ts'
import { useEditor, isDirty } from '../stores/editor.ts'
import { useApp } from '../stores/app.ts'
import { notify, reportError } from '../stores/notices.ts'

const labels: Record<ExportFormat, string> = { dotenv: 'dotenv (.env)', json: 'JSON', yaml: 'YAML', shell: 'shell (export …)' }

export function ExportScreen() {
  const id = useEditor((s) => s.id) as string
  const dirty = useEditor(isDirty)
  const mode = useApp((s) => s.info?.mode)
  const [format, setFormat] = useState<ExportFormat>('dotenv')
  const [reveal, setReveal] = useState(false)
  const [out, setOut] = useState<ExportResult | undefined>()
  const [error, setError] = useState<string | undefined>()
  /** this visit's opened environment on the main side (opened once; formats re-render from it) */
  const [session, setSession] = useState<string | undefined>()

  useEffect(() => {
    let cancelled = false
    let opened: string | undefined
    setSession(undefined)
    setOut(undefined)
    setError(undefined)
    api()
      .call('export.open', { id })
      .then((r) => {
        opened = r.session
        if (cancelled) void api().call('export.close', { session: r.session })
        else setSession(r.session)
      })
      .catch((err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err)))
    return () => {
      cancelled = true
      // the decrypted values are dropped on the main side when the visit ends
      if (opened)
        void api()
          .call('export.close', { session: opened })
          .catch(() => undefined)
    }
  }, [id])

  useEffect(() => {
    if (!session) return
    let cancelled = false
    setError(undefined)
    api()
      .call('export.render', { id, format, reveal, session })
      .then((r) => !cancelled && setOut(r))
      .catch((err: unknown) => {
        if (cancelled) return
        setOut(undefined)
        setError(err instanceof Error ? err.message : String(err))
      })
    return () => {
      cancelled = true
    }
  }, [id, format, reveal, session])

  const save = async () => {
    if (!out) return
    if (out.containsSecrets) {
      const { action } = await useApp.getState().ask({
        title: 'Export plaintext secrets?',
        body: `The file will contain ${out.secretCount} secret value${out.secretCount > 1 ? 's' : ''} in plain text. Anyone who can read the file can read them.`,
        actions: [
          { label: 'Export with secrets', value: 'ok', danger: true },
          { label: 'Cancel', value: 'cancel' },
        ],
      })
      if (action !== 'ok') return
    }
    try {
      if (mode === 'electron') {
        const r = await api().call('export.save', { id, format, reveal, ...(session ? { session } : {}) })
        if (!r.cancelled) notify(`Exported ${id} to ${r.path}`)
      } else {
        const blob = new Blob([out.content], { type: 'text/plain' })
        const a = document.createElement('a')
        a.href = URL.createObjectURL(blob)
        a.download = out.filename
        document.body.appendChild(a)
        a.click()
        a.remove()
        setTimeout(() => URL.revokeObjectURL(a.href), 10000)
        notify(`Downloaded ${out.filename}`)
      }
    } catch (err) {
      reportError(`Exporting ${id}`, err)
    }
  }

  return (
    <div className="export-screen">
      <div className="toolbar">
        <strong>Export {id}</strong>
        {dirty && <span className="muted">exports the last saved revision</span>}
      </div>
      <div className="export-form">
        <label className="field inline">
          Format
          <select value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} data-testid="export-format">
            {exportFormats.map((f) => (
              <option key={f} value={f}>
                {labels[f]}
              </option>
            ))}
          </select>
        </label>
        <label className="toggle">
          <input type="checkbox" checked={reveal} onChange={(e) => setReveal(e.target.checked)} data-testid="export-reveal" /> Include secret values
        </label>
        <button className="primary" onClick={() => void save()} disabled={!out} data-testid="export-save">
          {mode === 'electron' ? 'Save to file…' : 'Download'}
        </button>
      </div>
      {out && out.containsSecrets && (
        <div className="warning" role="alert" data-testid="export-warning">
          ⚠ This export contains {out.secretCount} secret value{out.secretCount > 1 ? 's' : ''} in plain text.
        </div>
      )}
      {out && !out.containsSecrets && out.secretCount > 0 && (
        <div className="muted pad">
          {out.secretCount} secret value{out.secretCount > 1 ? 's are' : ' is'} written as [secret].
        </div>
      )}
      {error && (
        <div className="warning error" role="alert">
          {error}
        </div>
      )}
      {out && (
        <pre className="output export-preview" data-testid="export-preview">
          {out.content || '(empty: the environment has no environmentVariables)'}
        </pre>
      )}
    </div>
  )
}
