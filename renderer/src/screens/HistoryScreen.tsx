import { useCallback, useEffect, useState } from 'react'
import { DiffEditor } from '@monaco-editor/react'
import type { RevisionInfo, RotationResult } from '../../../shared/models.ts'
import { api } from '../api/client.ts'
import { useEditor } from '../stores/editor.ts'
import { useEnvs } from '../stores/envs.ts'
import { useApp } from '../stores/app.ts'
import { notify, reportError, useNotices } from '../stores/notices.ts'
import { guardUnsaved } from '../actions.ts'
import { setupMonaco } from '../monaco/setup.ts'
import { redactSecrets } from '../../../shared/esc/crypt.ts'
import { EnvTags } from '../components/EnvTags.tsx'

setupMonaco()

type Side = number | 'buffer'

/** The definition calls a rotator (`fn::rotate::<name>`) somewhere. */
export const hasRotations = (yaml: string): boolean => /(^|[\s{,"'])fn::rotate::[A-Za-z0-9_.-]+/m.test(yaml)

export function HistoryScreen() {
  const id = useEditor((s) => s.id) as string
  const baseRevision = useEditor((s) => s.baseRevision)
  const theme = useApp((s) => s.theme)
  const reveal = useApp((s) => s.reveal)
  const [revs, setRevs] = useState<RevisionInfo[]>([])
  const [left, setLeft] = useState<Side | undefined>()
  const [right, setRight] = useState<Side | undefined>()
  const [texts, setTexts] = useState<{ left: string; right: string; labels: [string, string] } | undefined>()
  const saved = useEditor((s) => s.saved)
  const [rotation, setRotation] = useState<RotationResult | undefined>()
  const [rotating, setRotating] = useState(false)

  const refresh = useCallback(async () => {
    try {
      const list = await api().call('env.revisions', { id, count: 200 })
      list.sort((a, b) => b.number - a.number)
      setRevs(list)
      // retracted revisions cannot be read: never compare them
      const readable = list.filter((r) => !r.retracted)
      const ok = (side: Side | undefined) => side === 'buffer' || readable.some((r) => r.number === side)
      if (readable.length >= 2) {
        setLeft((l) => (ok(l) ? l : readable[1]?.number))
        setRight((r) => (ok(r) ? r : readable[0]?.number))
      } else if (readable.length === 1) {
        setLeft((l) => (ok(l) ? l : readable[0]?.number))
        setRight((r) => (ok(r) ? r : 'buffer'))
      }
    } catch (err) {
      reportError(`Loading the history of ${id}`, err)
    }
  }, [id])

  // on another environment start over; on a new revision keep the picks (the diff editor stays mounted:
  // unmounting and remounting it in one go trips Monaco's disposed context keys)
  useEffect(() => {
    setLeft(undefined)
    setRight(undefined)
    setRotation(undefined)
  }, [id])
  useEffect(() => {
    void refresh()
  }, [refresh, baseRevision])

  useEffect(() => {
    if (left === undefined || right === undefined) return
    let cancelled = false
    // the unsaved buffer may hold typed plaintext secrets: unless revealed, they are shown the way the stored
    // side shows its secrets (as ciphertext), so "secrets shown encrypted" holds for both sides
    const buffer = (): Promise<string> | string => (reveal ? useEditor.getState().buffer : redactSecrets(useEditor.getState().buffer))
    const load = async (side: Side): Promise<string> =>
      side === 'buffer' ? buffer() : (await api().call('env.get', { id, version: side, ...(reveal ? { decrypt: true } : {}) })).yaml
    Promise.all([load(left), load(right)])
      .then(([l, r]) => {
        if (!cancelled) setTexts({ left: l, right: r, labels: [label(left), label(right)] })
      })
      .catch((err: unknown) => reportError(`Loading revisions of ${id} to compare`, err))
    return () => {
      cancelled = true
    }
  }, [id, left, right, reveal])

  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
      await refresh()
      notify(what)
    } catch (err) {
      reportError(what, err)
    }
  }

  const tag = async (r: RevisionInfo) => {
    const { action, input } = await useApp.getState().ask({
      title: `Tag revision ${r.number}`,
      body: 'A tag name (e.g. stable, prod). An existing tag with the same name moves here.',
      input: { label: 'Tag', value: '' },
      actions: [
        { label: 'Tag', value: 'tag' },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'tag' || !input?.trim()) return
    await act(`Tagged revision ${r.number} as ${input.trim()}`, () => api().call('env.tagRevision', { id, tag: input.trim(), revision: r.number }))
  }
  const untag = (tagName: string) => act(`Removed tag ${tagName}`, () => api().call('env.untagRevision', { id, tag: tagName }))
  const retract = async (r: RevisionInfo) => {
    const { action, input } = await useApp.getState().ask({
      title: `Retract revision ${r.number}?`,
      body: 'Readers of this revision get its replacement (the previous revision unless you pick one). The revision stays in history.',
      input: { label: 'Reason', value: '' },
      actions: [
        { label: 'Retract', value: 'retract', danger: true },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'retract') return
    await act(`Retracted revision ${r.number}`, () => api().call('env.retract', { id, revision: r.number, ...(input?.trim() ? { reason: input.trim() } : {}) }))
  }
  const rollback = async (r: RevisionInfo) => {
    if (!(await guardUnsaved())) return
    const { action } = await useApp.getState().ask({
      title: `Roll back to revision ${r.number}?`,
      body: `A new revision is saved with the content of revision ${r.number}.`,
      actions: [
        { label: 'Roll back', value: 'rollback' },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'rollback') return
    await act(`Rolled ${id} back to revision ${r.number}`, async () => {
      await api().call('env.rollback', { id, revision: r.number })
      await useEditor.getState().load(id, reveal ? { decrypt: true } : undefined)
      await useEnvs.getState().refresh()
    })
  }

  /** Rotates every `fn::rotate` of the latest saved revision; the new state lands as a new revision. */
  const rotate = async () => {
    if (!(await guardUnsaved())) return
    const { action } = await useApp.getState().ask({
      title: `Rotate the secrets of ${id}?`,
      body: 'Each fn::rotate in the latest saved revision calls its rotator; the new credentials are saved as a new revision. Credentials handed out before stay valid until the next rotation only if the rotator keeps the previous ones.',
      actions: [
        { label: 'Rotate', value: 'rotate', danger: true },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'rotate') return
    setRotating(true)
    setRotation(undefined)
    try {
      const res = await api().call('env.rotate', { id })
      setRotation(res)
      if (res.postRotationRevision !== undefined) {
        await useEditor.getState().load(id, reveal ? { decrypt: true } : undefined)
        await useEnvs.getState().refresh()
        setLeft(res.preRotationRevision)
        setRight(res.postRotationRevision)
      }
      await refresh()
      const failed = res.rotations.filter((r) => r.status === 'failed').length
      if (failed === 0) notify(`Rotated ${res.rotations.length} secret(s) of ${id}: revision ${res.postRotationRevision ?? res.preRotationRevision}`)
      else
        useNotices.getState().push({
          kind: 'error',
          what: `Rotating ${id}: ${failed} of ${res.rotations.length} rotation(s) failed`,
          why: res.rotations.find((r) => r.status === 'failed')?.errorMessage ?? 'see the rotation results',
          hint: 'the successful ones are saved; fix the rotator inputs or the backend, then rotate again',
        })
    } catch (err) {
      reportError(`Rotating ${id}`, err)
    } finally {
      setRotating(false)
    }
  }

  return (
    <div className="history-screen">
      <div className="revisions">
        <EnvTags id={id} />
        <div className="toolbar">
          <strong>History of {id}</strong>
          <span className="spacer" />
          {hasRotations(saved) && (
            <button onClick={() => void rotate()} disabled={rotating} data-testid="rotate" title="Rotate the fn::rotate secrets of the latest saved revision">
              {rotating ? 'Rotating…' : '⟳ Rotate secrets'}
            </button>
          )}
          <button onClick={() => setRight('buffer')} data-testid="diff-buffer" title="Compare the left revision with the unsaved editor buffer">
            vs unsaved buffer
          </button>
        </div>
        {rotation && (
          <div className={`rotation-result ${rotation.status}`} data-testid="rotation-result" data-status={rotation.status}>
            <div className="rotation-head">
              <strong>
                Rotation {rotation.status === 'succeeded' ? 'succeeded' : 'failed'}:{' '}
                {rotation.postRotationRevision !== undefined
                  ? `revision ${rotation.preRotationRevision} → ${rotation.postRotationRevision}`
                  : `nothing saved (revision ${rotation.preRotationRevision} unchanged)`}
              </strong>
              <button className="icon small" title="dismiss" onClick={() => setRotation(undefined)}>
                ✕
              </button>
            </div>
            {rotation.rotations.length === 0 && <div className="muted">no fn::rotate found in the latest revision</div>}
            <ul>
              {rotation.rotations.map((r) => (
                <li key={r.path} data-testid={`rotation-${r.path}`} data-status={r.status}>
                  <code>{r.path}</code> <span className={r.status === 'succeeded' ? 'ok' : 'bad'}>{r.status === 'succeeded' ? 'rotated' : 'failed'}</span>
                  {r.errorMessage && <span className="muted"> — {r.errorMessage}</span>}
                </li>
              ))}
            </ul>
            {rotation.diagnostics
              .filter((d) => d.severity === 'error')
              .map((d, i) => (
                <div key={i} className="muted">
                  {d.summary}
                </div>
              ))}
          </div>
        )}
        <table className="rev-table" data-testid="revisions">
          <thead>
            <tr>
              <th title="left side of the diff">A</th>
              <th title="right side of the diff">B</th>
              <th>Rev</th>
              <th>Author</th>
              <th>Time</th>
              <th>Message</th>
              <th>Tags</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {revs.map((r) => (
              <tr key={r.number} className={r.retracted ? 'retracted' : ''} data-testid={`rev-${r.number}`}>
                <td>
                  <input
                    type="radio"
                    name="left"
                    disabled={!!r.retracted}
                    checked={left === r.number}
                    onChange={() => setLeft(r.number)}
                    aria-label={`A = revision ${r.number}`}
                    data-testid={`rev-left-${r.number}`}
                  />
                </td>
                <td>
                  <input
                    type="radio"
                    name="right"
                    disabled={!!r.retracted}
                    checked={right === r.number}
                    onChange={() => setRight(r.number)}
                    aria-label={`B = revision ${r.number}`}
                    data-testid={`rev-right-${r.number}`}
                  />
                </td>
                <td>{r.number}</td>
                <td>{r.author}</td>
                <td title={r.created}>{new Date(r.created).toLocaleString()}</td>
                <td>
                  {r.message}
                  {r.retracted && (
                    <div className="muted">
                      retracted by {r.retracted.by}: {r.retracted.reason || 'no reason'} (→ {r.retracted.replacement})
                    </div>
                  )}
                </td>
                <td>
                  {r.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                      {t !== 'latest' && (
                        <button className="icon small" title={`remove tag ${t}`} onClick={() => void untag(t)}>
                          ✕
                        </button>
                      )}
                    </span>
                  ))}
                </td>
                <td className="row-actions">
                  <button className="small" onClick={() => void tag(r)} data-testid={`rev-tag-${r.number}`}>
                    Tag
                  </button>
                  {!r.retracted && r.number !== revs[0]?.number && (
                    <button className="small" onClick={() => void rollback(r)} data-testid={`rev-rollback-${r.number}`}>
                      Roll back
                    </button>
                  )}
                  {!r.retracted && r.number !== 1 && (
                    // the store refuses to retract the latest revision: say why instead of offering it
                    <button
                      className="small danger"
                      onClick={() => void retract(r)}
                      disabled={r.number === revs[0]?.number}
                      title={
                        r.number === revs[0]?.number ? 'The latest revision cannot be retracted: save a new revision first, then retract this one' : undefined
                      }
                      data-testid={`rev-retract-${r.number}`}
                    >
                      Retract
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="diff">
        <div className="toolbar">
          <strong data-testid="diff-labels">{texts ? `${texts.labels[0]} ↔ ${texts.labels[1]}` : 'Pick two revisions'}</strong>
          {!reveal && <span className="muted">secrets shown encrypted (toggle “Reveal secrets” to compare plaintext)</span>}
        </div>
        <div className="diff-host" data-testid="diff-editor">
          {texts && (
            <DiffEditor
              original={texts.left}
              modified={texts.right}
              language="yaml"
              theme={theme === 'dark' ? 'vs-dark' : 'vs'}
              originalModelPath={`envelope://diff/${id}/left.yaml`}
              modifiedModelPath={`envelope://diff/${id}/right.yaml`}
              keepCurrentOriginalModel
              keepCurrentModifiedModel
              options={{
                readOnly: true,
                renderSideBySide: true,
                minimap: { enabled: false },
                automaticLayout: true,
                scrollBeyondLastLine: false,
                stickyScroll: { enabled: false },
              }}
            />
          )}
        </div>
      </div>
    </div>
  )

  function label(s: Side): string {
    return s === 'buffer' ? 'unsaved buffer' : `revision ${s}`
  }
}
