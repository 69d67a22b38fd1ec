import { useNotices } from '../stores/notices.ts'

export function Notices() {
  const notices = useNotices((s) => s.notices)
  const dismiss = useNotices((s) => s.dismiss)
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.kind}`}>
          <div className="notice-body">
            <strong>{n.what}</strong>
            {n.why && <div className="why">{n.why}</div>}
            {n.hint && <div className="hint">What to do: {n.hint}</div>}
          </div>
          <button className="icon small" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  )
}
