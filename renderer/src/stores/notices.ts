/**
 * User-facing notices. Every failure becomes one: what failed, why (the error message), and what to do
 * (the error's hint, or a default per error code). Nothing fails silently.
 */
import { create } from 'zustand'
import { UserError } from '../../../shared/errors.ts'
import type { ErrorCode } from '../../../shared/errors.ts'

export interface Notice {
  id: number
  kind: 'error' | 'info'
  what: string
  why?: string
  hint?: string
}

const defaultHints: Partial<Record<ErrorCode, string>> = {
  not_found: 'refresh the list; it may have been deleted or renamed elsewhere',
  conflict: 'reload the environment, merge your edits and save again',
  invalid_input: 'correct the input and try again',
  already_exists: 'choose another name',
  keychain_unavailable: 'unlock your OS keychain, or see Settings → Keys for the passphrase fallback',
  io: 'check the data folder permissions and free disk space, then try again',
  provider_failed: 'check the provider inputs and your network, then try again',
  unauthorized: 'reopen the UI from the URL printed by `envelope ui`',
}

interface NoticeState {
  notices: Notice[]
  push(n: Omit<Notice, 'id'>): void
  dismiss(id: number): void
}

let next = 1

export const useNotices = create<NoticeState>((set) => ({
  notices: [],
  push: (n) => {
    const id = next++
    set((s) => ({ notices: [...s.notices.slice(-4), { ...n, id }] }))
    if (n.kind === 'info') setTimeout(() => set((s) => ({ notices: s.notices.filter((x) => x.id !== id) })), 4000)
  },
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((x) => x.id !== id) })),
}))

/** Reports a failure: `what` says what the user was doing ("Saving acme/dev"). */
export function reportError(what: string, err: unknown): void {
  const why = err instanceof Error ? err.message : String(err)
  let hint: string | undefined
  if (err instanceof UserError) hint = err.hint ?? defaultHints[err.code]
  else hint = 'this looks like a bug in Envelope; try again, and report it if it persists'
  console.error(what, err)
  useNotices.getState().push({ kind: 'error', what: `${what} failed`, why, ...(hint ? { hint } : {}) })
}

export function notify(what: string): void {
  useNotices.getState().push({ kind: 'info', what })
}
