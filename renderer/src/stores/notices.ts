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
  /** how many identical notices this one stands for (they collapse into one) */
  count: number
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

/** at most this many notices on screen: the oldest go first */
export const maxNotices = 3
/** how long a notice stays (ms); an identical one arriving meanwhile restarts the clock */
export const noticeLifetime = { info: 4000, error: 20000 }

interface NoticeState {
  notices: Notice[]
  push(n: Omit<Notice, 'id' | 'count'>): void
  dismiss(id: number): void
}

let next = 1
const timers = new Map<number, ReturnType<typeof setTimeout>>()

const same = (a: Omit<Notice, 'id' | 'count'>, b: Omit<Notice, 'id' | 'count'>) =>
  a.kind === b.kind && a.what === b.what && a.why === b.why && a.hint === b.hint

/**
 * Notices collapse (an identical one counts up instead of stacking), expire (noticeLifetime) and are capped
 * (maxNotices): a failure repeated by a retry loop cannot bury the screen. Each can be dismissed (✕, Escape).
 */
export const useNotices = create<NoticeState>((set, get) => {
  const expire = (id: number, kind: Notice['kind']) => {
    clearTimeout(timers.get(id))
    timers.set(
      id,
      setTimeout(() => get().dismiss(id), noticeLifetime[kind]),
    )
  }
  return {
    notices: [],
    push: (n) => {
      const twin = get().notices.find((x) => same(x, n))
      if (twin) {
        set((s) => ({ notices: [...s.notices.filter((x) => x !== twin), { ...twin, count: twin.count + 1 }] }))
        expire(twin.id, twin.kind)
        return
      }
      const id = next++
      const all = [...get().notices, { ...n, id, count: 1 }]
      for (const gone of all.slice(0, Math.max(0, all.length - maxNotices))) clearTimeout(timers.get(gone.id))
      set({ notices: all.slice(-maxNotices) })
      expire(id, n.kind)
    },
    dismiss: (id) => {
      clearTimeout(timers.get(id))
      timers.delete(id)
      set((s) => ({ notices: s.notices.filter((x) => x.id !== id) }))
    },
  }
})

/** Reports a failure: `what` says what the user was doing ("Saving acme/dev"). */
export function reportError(what: string, err: unknown): void {
  const why = err instanceof Error ? err.message : String(err)
  let hint: string | undefined
  if (err instanceof UserError) hint = err.hint ?? defaultHints[err.code]
  else hint = 'try again; if it keeps failing, report it with the steps that led here'
  // a user error is fully told by the notice; anything else also goes to the console with its stack
  if (!(err instanceof UserError)) console.error(what, err)
  useNotices.getState().push({ kind: 'error', what: `${what} failed`, why, ...(hint ? { hint } : {}) })
}

export function notify(what: string): void {
  useNotices.getState().push({ kind: 'info', what })
}
