/**
 * The open environment: its saved definition, the editor buffer, and the live preview.
 *
 * Live preview: every buffer change schedules a check of the unsaved buffer (env.check, evaluated in
 * the main process / web transport, off the UI thread). Checks are coalesced: at most one in flight; edits
 * made meanwhile are checked as soon as it returns, and a stale answer never replaces a newer one.
 * Latency figures (keystroke → preview committed) are kept in `metrics` for the benchmark.
 */
import { create } from 'zustand'
import type { OpenResult, RevisionInfo } from '../../../shared/models.ts'
import { ConflictError } from '../../../shared/errors.ts'
import { api } from '../api/client.ts'
import { notify, reportError } from './notices.ts'
import { useEnvs } from './envs.ts'
import { useApp } from './app.ts'
import { shareEqual } from '../lib/share.ts'

interface EditorState {
  id?: string
  /** text last loaded/saved (what "dirty" compares against) */
  saved: string
  buffer: string
  baseRevision: number
  /** the definition was loaded with secrets decrypted */
  decrypted: boolean
  loading: boolean
  saving: boolean
  preview?: OpenResult
  /** buffer version the preview belongs to */
  previewVersion: number
  /** incremented on each buffer change */
  version: number
  checking: boolean
  /** the typed revision message: the Save button and Ctrl+S both save with it (one path) */
  message: string
  /**
   * the latest revision in the store when it differs from `baseRevision` (saved elsewhere: CLI, agent,
   * sync, another window), found by the store watch (stores/watch.ts); undefined when up to date
   */
  changedElsewhere?: number
  setMessage(message: string): void
  load(id: string, opts?: { decrypt?: boolean }): Promise<boolean>
  close(): void
  setBuffer(text: string): void
  /**
   * The store says the latest revision of the open environment is `latest` (the store watch): a clean
   * buffer follows it (nothing is lost), a dirty one is marked `changedElsewhere` and kept.
   */
  followSaved(latest: number): Promise<void>
  /** saves the buffer with `message`, or else the typed message (cleared once saved) */
  save(message?: string): Promise<RevisionInfo | undefined>
}

/** 0: check at once when idle; bursts are coalesced by the one-in-flight rule below */
export const previewDelayMs = 0

let timer: ReturnType<typeof setTimeout> | undefined
let inFlight = false
let pending = false
let lastKeyAt = 0
const editAt = new Map<number, number>()

/** latencies in ms from keystroke (or buffer change) to preview commit; read by bench/ui.bench.ts */
export const metrics = { preview: [] as number[], check: [] as number[], render: [] as number[] }
let answeredAt = 0

if (typeof window !== 'undefined') {
  window.addEventListener('keydown', () => (lastKeyAt = performance.now()), { capture: true })
  ;(window as unknown as { __envelopeMetrics: typeof metrics }).__envelopeMetrics = metrics
}

/** Called by the preview after it committed the preview of `version`. */
export function previewCommitted(version: number): void {
  const t = editAt.get(version)
  const now = performance.now()
  if (t !== undefined) {
    metrics.preview.push(now - t)
    metrics.render.push(now - answeredAt)
    for (const xs of [metrics.preview, metrics.check, metrics.render]) if (xs.length > 5000) xs.splice(0, 1000)
  }
  for (const v of editAt.keys()) if (v <= version) editAt.delete(v)
}

export const useEditor = create<EditorState>((set, get) => {
  const runCheck = async (): Promise<void> => {
    const { id, buffer, version } = get()
    if (!id) return
    if (inFlight) {
      pending = true
      return
    }
    inFlight = true
    if (!get().checking) set({ checking: true })
    try {
      const t0 = performance.now()
      const result = await api().call('env.check', { id, yaml: buffer })
      answeredAt = performance.now()
      metrics.check.push(answeredAt - t0)
      inFlight = false
      // one commit per answer: the new preview (unchanged subtrees keep their identity, so the memoised
      // preview tree re-renders only what the edit touched) and, unless edits are waiting, checking=false
      const again = pending
      pending = false
      if (get().id === id && version >= get().previewVersion) set({ preview: shareEqual(get().preview, result), previewVersion: version, checking: again })
      else set({ checking: again })
      if (again) void runCheck()
    } catch (err) {
      inFlight = false
      set({ checking: false })
      reportError(`Checking ${id}`, err)
      if (pending) {
        pending = false
        void runCheck()
      }
    }
  }

  const schedule = (): void => {
    if (timer) clearTimeout(timer)
    if (previewDelayMs === 0) void runCheck()
    else timer = setTimeout(() => void runCheck(), previewDelayMs)
  }

  return {
    saved: '',
    buffer: '',
    baseRevision: 0,
    decrypted: false,
    loading: false,
    saving: false,
    previewVersion: 0,
    version: 0,
    checking: false,
    message: '',

    setMessage: (message) => set({ message }),

    load: async (id, opts) => {
      set({ loading: true })
      try {
        const def = await api().call('env.get', { id, ...(opts?.decrypt ? { decrypt: true } : {}) })
        const version = get().version + 1
        set({
          id,
          saved: def.yaml,
          buffer: def.yaml,
          baseRevision: def.revision,
          decrypted: !!opts?.decrypt,
          loading: false,
          preview: undefined,
          version,
          previewVersion: 0,
          changedElsewhere: undefined,
          ...(get().id !== id ? { message: '' } : {}),
        })
        void runCheck()
        return true
      } catch (err) {
        set({ loading: false })
        reportError(`Opening ${id}`, err)
        return false
      }
    },

    followSaved: async (latest) => {
      const st = get()
      const id = st.id
      if (!id || st.saving || st.loading) return
      if (latest <= st.baseRevision) {
        if (st.changedElsewhere !== undefined) set({ changedElsewhere: undefined })
        return
      }
      if (isDirty(st)) {
        if (st.changedElsewhere !== latest) set({ changedElsewhere: latest })
        return
      }
      try {
        const def = await api().call('env.get', { id, ...(st.decrypted ? { decrypt: true } : {}) })
        const now = get()
        // a save, a load or a keystroke meanwhile wins: look again at the next change
        if (now.id !== id || now.saving || now.loading || def.revision <= now.baseRevision) return
        if (isDirty(now)) {
          set({ changedElsewhere: def.revision })
          return
        }
        set({ saved: def.yaml, buffer: def.yaml, baseRevision: def.revision, changedElsewhere: undefined, version: now.version + 1 })
        void runCheck()
      } catch (err) {
        reportError(`Reloading ${id}`, err)
      }
    },

    close: () => set({ id: undefined, saved: '', buffer: '', preview: undefined, baseRevision: 0, message: '', changedElsewhere: undefined }),

    setBuffer: (text) => {
      if (text === get().buffer) return
      const version = get().version + 1
      const now = performance.now()
      editAt.set(version, now - lastKeyAt < 50 ? lastKeyAt : now)
      set({ buffer: text, version })
      schedule()
    },

    save: async (given) => {
      const { id, buffer, baseRevision } = get()
      if (!id) return undefined
      const typed = get().message
      const message = given ?? (typed.trim() || undefined)
      set({ saving: true })
      try {
        const rev = await api().call('env.update', { id, yaml: buffer, baseRevision, ...(message ? { message } : {}) })
        // reload so the buffer shows what is stored (secrets encrypted unless revealed)
        const def = await api().call('env.get', { id, ...(get().decrypted ? { decrypt: true } : {}) })
        const changedMeanwhile = get().buffer !== buffer
        set({
          saved: def.yaml,
          baseRevision: def.revision,
          saving: false,
          changedElsewhere: undefined,
          ...(changedMeanwhile ? {} : { buffer: def.yaml }),
          // the message went with this revision (unless it was retyped meanwhile)
          ...(given === undefined && get().message === typed ? { message: '' } : {}),
        })
        if (!changedMeanwhile) {
          set({ version: get().version + 1 })
          void runCheck()
        }
        void useEnvs.getState().refresh()
        notify(`Saved ${id} as revision ${rev.number}`)
        return rev
      } catch (err) {
        set({ saving: false })
        if (err instanceof ConflictError) return resolveConflict(id, err, given)
        reportError(`Saving ${id}`, err)
        return undefined
      }
    },
  }
})

/**
 * A stale save: someone saved revision `actual` after this buffer was loaded. The user chooses: overwrite
 * with this buffer (a new revision on top of theirs), reload theirs (dropping these edits), or keep
 * editing (History → "vs unsaved buffer" shows the difference).
 */
async function resolveConflict(id: string, err: ConflictError, message: string | undefined): Promise<RevisionInfo | undefined> {
  const { action } = await useApp.getState().ask({
    title: 'Saved elsewhere meanwhile',
    body: `${err.message}. Overwrite it with your version, reload the saved one (your edits are lost), or keep editing and compare in History.`,
    actions: [
      { label: 'Keep editing', value: 'cancel' },
      { label: 'Overwrite', value: 'overwrite', danger: true },
      { label: 'Reload saved', value: 'reload' },
    ],
  })
  if (action === 'overwrite') {
    useEditor.setState({ baseRevision: err.actual })
    return useEditor.getState().save(message)
  }
  if (action === 'reload') await useEditor.getState().load(id, useEditor.getState().decrypted ? { decrypt: true } : undefined)
  return undefined
}

export function isDirty(s: Pick<EditorState, 'buffer' | 'saved' | 'id'>): boolean {
  return !!s.id && s.buffer !== s.saved
}
