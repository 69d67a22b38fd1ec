/**
 * The app's one modal (stores/app.ts `ask`). An input is validated before the dialog closes (the error
 * shows next to the field, the dialog stays open); a destructive dialog opens with Cancel focused, so
 * Enter never deletes by accident.
 */
import { useEffect, useRef, useState } from 'react'
import { useApp } from '../stores/app.ts'

export function ConfirmDialog() {
  const req = useApp((s) => s.confirm)
  const [value, setValue] = useState('')
  const [error, setError] = useState<string | undefined>()
  const inputRef = useRef<HTMLInputElement>(null)
  const focusRef = useRef<HTMLButtonElement>(null)

  useEffect(() => {
    if (!req) return
    setValue(req.input?.value ?? '')
    setError(undefined)
    setTimeout(() => (req.input ? inputRef.current?.select() : focusRef.current?.focus()), 0)
  }, [req])

  if (!req) return null
  const cancel = req.actions.find((a) => a.value === 'cancel')?.value ?? null
  const focused = req.focus ?? req.actions[0]?.value
  const done = (action: string | null) => {
    if (req.input && action !== null && action !== cancel) {
      const bad = req.input.validate?.(value)
      if (bad !== undefined) {
        setError(bad)
        inputRef.current?.focus()
        return
      }
    }
    req.resolve(action, req.input ? value : undefined)
  }
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && done(cancel)}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={req.title} data-testid="dialog">
        <h2>{req.title}</h2>
        <p>{req.body}</p>
        {req.items && req.items.values.length > 0 && (
          <div className="dialog-items" data-testid="dialog-items">
            {req.items.label}
            <ul>
              {req.items.values.map((v) => (
                <li key={v}>
                  <code>{v}</code>
                </li>
              ))}
            </ul>
          </div>
        )}
        {req.input && (
          <label className="field">
            {req.input.label}
            <input
              ref={inputRef}
              value={value}
              placeholder={req.input.placeholder}
              aria-invalid={error !== undefined}
              aria-describedby={error !== undefined ? 'dialog-error' : undefined}
              onChange={(e) => {
                setValue(e.target.value)
                setError(undefined)
              }}
              onKeyDown={(e) => e.key === 'Enter' && done(req.actions[0]?.value ?? null)}
              data-testid="dialog-input"
            />
            {error !== undefined && (
              <span className="field-error" id="dialog-error" role="alert" data-testid="dialog-error">
                {error}
              </span>
            )}
          </label>
        )}
        <div className="modal-actions">
          {req.actions.map((a, i) => (
            <button
              key={a.value}
              ref={a.value === focused ? focusRef : undefined}
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
