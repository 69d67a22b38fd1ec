/**
 * The audit log (service.audit()): time, user, action, target, result and the event's detail (never secret
 * values), newest first, filtered by environment (or `store` for key events).
 */
import { useCallback, useEffect, useState } from 'react'
import type { AuditEvent } from '../../../shared/models.ts'
import { api } from '../api/client.ts'
import { useEditor } from '../stores/editor.ts'
import { useEnvs } from '../stores/envs.ts'
import { reportError } from '../stores/notices.ts'

const limit = 500

export function AuditScreen() {
  const list = useEnvs((s) => s.list)
  const current = useEditor((s) => s.id)
  const [target, setTarget] = useState<string>(current ?? '')
  const [events, setEvents] = useState<AuditEvent[] | undefined>()

  const refresh = useCallback(async () => {
    try {
      setEvents(await api().call('env.audit', { limit, ...(target ? { target } : {}) }))
    } catch (err) {
      reportError('Loading the audit log', err)
    }
  }, [target])

  useEffect(() => {
    void refresh()
  }, [refresh])

  const targets = [...new Set([...list.map((e) => e.id), ...(target ? [target] : [])])].sort()
  return (
    <div className="audit-screen">
      <div className="toolbar">
        <strong>Audit log</strong>
        <label>
          Environment{' '}
          <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="audit-filter">
            <option value="">all</option>
            {targets.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
            <option value="store">store (key events)</option>
          </select>
        </label>
        <span className="spacer" />
        <span className="muted">{events ? `${events.length}${events.length === limit ? '+' : ''} event(s), newest first` : 'loading…'}</span>
        <button onClick={() => void refresh()} data-testid="audit-refresh">
          Refresh
        </button>
      </div>
      <div className="audit-table-wrap">
        <table className="audit-table" data-testid="audit-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>User</th>
              <th>Action</th>
              <th>Target</th>
              <th>Result</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {events?.map((e) => (
              <tr key={e.id} className={`result-${e.result}`} data-testid="audit-row" data-action={e.action} data-target={e.target} data-result={e.result}>
                <td title={e.time}>{new Date(e.time).toLocaleString()}</td>
                <td>{e.user}</td>
                <td>{e.action}</td>
                <td>{e.target}</td>
                <td className="result">{e.result}</td>
                <td className="detail">{e.detail ? JSON.stringify(e.detail) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {events?.length === 0 && <p className="muted pad">No events{target ? ` for ${target}` : ''}.</p>}
      </div>
    </div>
  )
}
