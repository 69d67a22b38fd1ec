import { useEffect, useRef, useState } from 'react'
import { useApp } from '../stores/app.ts'

export function ConfirmDialog() {
  const req = useApp((s) => s.confirm)
  const [value, setValue] = useState('')
  const inputRef = useRef<HTMLInputElement>(null)
  const firstRef = useRef<HTMLButtonElement>(null)

  useEffect(() => {
    if (!req) return
    setValue(req.input?.value ?? '')
    setTimeout(() => (req.input ? inputRef.current?.select() : firstRef.current?.focus()), 0)
  }, [req])

  if (!req) return null
  const cancel = req.actions.find((a) => a.value === 'cancel')?.value ?? null
  const done = (action: string | null) => req.resolve(action, req.input ? value : undefined)
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && done(cancel)}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={req.title} data-testid="dialog">
        <h2>{req.title}</h2>
        <p>{req.body}</p>
        {req.input && (
          <label className="field">
            {req.input.label}
            <input
              ref={inputRef}
              value={value}
              placeholder={req.input.placeholder}
              onChange={(e) => setValue(e.target.value)}
              onKeyDown={(e) => e.key === 'Enter' && done(req.actions[0]?.value ?? null)}
              data-testid="dialog-input"
            />
          </label>
        )}
        <div className="modal-actions">
          {req.actions.map((a, i) => (
            <button
              key={a.value}
              ref={i === 0 ? firstRef : undefined}
              className={a.danger ? 'danger' : i === 0 ? 'primary' : ''}
              onClick={() => done(a.value)}
              data-testid={`dialog-${a.value}`}
            >
              {a.label}
            </button>
          ))}
        </div>
      </div>
    </div>
  )
}
