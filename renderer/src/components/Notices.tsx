/** The notices (stores/notices.ts), newest last: ✕ or Escape dismisses (Escape: the newest, when no dialog is open). */
import { useEffect } from 'react'
import { useNotices } from '../stores/notices.ts'
import { useApp } from '../stores/app.ts'

export function Notices() {
  const notices = useNotices((s) => s.notices)
  const dismiss = useNotices((s) => s.dismiss)

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || useApp.getState().confirm) return
      const last = useNotices.getState().notices.at(-1)
      if (last) dismiss(last.id)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [dismiss])

  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.kind}`}>
          <div className="notice-body">
            <strong>{n.what}</strong>
            {n.count > 1 && (
              <span className="notice-count" data-testid="notice-count" title={`${n.count} times`}>
                {' '}
                ×{n.count}
              </span>
            )}
            {n.why && <div className="why">{n.why}</div>}
            {n.hint && <div className="hint">What to do: {n.hint}</div>}
          </div>
          <button className="icon small" onClick={() => dismiss(n.id)} aria-label="Dismiss" title="Dismiss (Escape)" data-testid="notice-dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  )
}
