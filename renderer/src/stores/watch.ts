/**
 * Follows changes made elsewhere (the CLI, the agent, sync, another window): polls the store's change
 * token (`store.version`, electron/app-api/store-watch.ts) and, when it moves, refreshes the environment
 * list (revision numbers, new and deleted environments) and the open environment (stores/editor.ts
 * followSaved: a clean buffer follows, a dirty one is marked "saved elsewhere").
 */
import { api } from '../api/client.ts'
import { useEditor, isDirty } from './editor.ts'
import { deletingHere, useEnvs } from './envs.ts'
import { notify, reportError } from './notices.ts'

/** how often the token is read (one tiny request; the answer costs a WAL-index lookup) */
export const watchIntervalMs = 1500

/** Starts polling; returns the stop function. */
export function watchStore(intervalMs = watchIntervalMs): () => void {
  let last: string | undefined
  let failing = false
  let busy = false
  let stopped = false

  const tick = async () => {
    if (busy || stopped) return
    busy = true
    try {
      const { version } = await api().call('store.version', {})
      failing = false
      if (last === undefined || version === last) {
        last = version
        return
      }
      last = version
      await changed()
    } catch (err) {
      // one notice per outage, not one per poll
      if (!failing) reportError('Watching the store for changes', err)
      failing = true
    } finally {
      busy = false
    }
  }

  const timer = setInterval(() => void tick(), intervalMs)
  void tick()
  return () => {
    stopped = true
    clearInterval(timer)
  }
}

async function changed(): Promise<void> {
  await useEnvs.getState().refresh()
  const ed = useEditor.getState()
  if (!ed.id) return
  const here = useEnvs.getState().list.find((e) => e.id === ed.id)
  if (here) return ed.followSaved(here.latestRevision)
  if (!isDirty(ed) && !ed.saving && !ed.loading && !deletingHere.has(ed.id)) {
    ed.close()
    notify(`${ed.id} was deleted elsewhere`)
  }
}
