/**
 * User actions that span stores: switching environments behind the unsaved-changes guard, create,
 * clone, delete. Every failure is reported (stores/notices.ts).
 */
import type { Range as EscRange } from '../../shared/esc/host.ts'
import { envIdError } from '../../shared/domain/names.ts'
import { api } from './api/client.ts'
import { useApp } from './stores/app.ts'
import { useEditor, isDirty } from './stores/editor.ts'
import { deletingHere, useEnvs } from './stores/envs.ts'
import { notify, reportError } from './stores/notices.ts'
import { create } from 'zustand'

/** Where to put the cursor once an environment has opened (go to definition across imports). */
export const useRevealTarget = create<{ target?: { id: string; range: EscRange }; set(t?: { id: string; range: EscRange }): void }>((set) => ({
  set: (target) => set({ target }),
}))

/** Asks what to do with unsaved changes; resolves true when it is fine to leave the current buffer. */
export async function guardUnsaved(): Promise<boolean> {
  const ed = useEditor.getState()
  if (!isDirty(ed)) return true
  const { action } = await useApp.getState().ask({
    title: 'Unsaved changes',
    body: `${ed.id} has unsaved changes.`,
    actions: [
      { label: 'Save', value: 'save' },
      { label: 'Discard', value: 'discard', danger: true },
      { label: 'Cancel', value: 'cancel' },
    ],
  })
  if (action === 'save') return (await useEditor.getState().save()) !== undefined
  return action === 'discard'
}

export async function openEnv(id: string, range?: EscRange): Promise<void> {
  const ed = useEditor.getState()
  if (ed.id === id) {
    if (range) useRevealTarget.getState().set({ id, range })
    return
  }
  if (!(await guardUnsaved())) return
  if (range) useRevealTarget.getState().set({ id, range })
  const ok = await useEditor.getState().load(id, useApp.getState().reveal ? { decrypt: true } : undefined)
  if (ok && useApp.getState().screen === 'settings') useApp.getState().setScreen('editor')
}

export const starterYaml = `# imports:\n#   - project/base\nvalues:\n  greeting: hello\n  environmentVariables:\n    GREETING: \${greeting}\n`

/**
 * What is wrong with `input` as the name of a new environment (the domain's rule, shared/domain/names.ts,
 * then the list: the name is taken), shown next to the field; undefined when it can be used.
 */
export function newNameError(input: string): string | undefined {
  const id = input.trim()
  if (!id) return 'type a name: project/name'
  const bad = envIdError(id)
  if (bad) return bad
  if (useEnvs.getState().list.some((e) => e.id === id)) return `${id} already exists: choose another name`
  return undefined
}

export async function createEnv(): Promise<void> {
  if (!(await guardUnsaved())) return
  const { action, input } = await useApp.getState().ask({
    title: 'New environment',
    body: 'Name it project/name (letters, digits, _ . -).',
    input: { label: 'Name', value: '', placeholder: 'myproject/dev', validate: newNameError },
    actions: [
      { label: 'Create', value: 'create' },
      { label: 'Cancel', value: 'cancel' },
    ],
  })
  if (action !== 'create' || input === undefined) return
  const id = input.trim()
  try {
    await api().call('env.create', { id, yaml: starterYaml })
    await useEnvs.getState().refresh()
    await useEditor.getState().load(id)
    useApp.getState().setScreen('editor')
    notify(`Created ${id}`)
  } catch (err) {
    reportError(`Creating ${id}`, err)
  }
}

export async function cloneEnv(from: string): Promise<void> {
  const { action, input } = await useApp.getState().ask({
    title: `Clone ${from}`,
    body: 'Name of the copy (project/name). History is not copied.',
    input: { label: 'New name', value: `${from}-copy`, validate: newNameError },
    actions: [
      { label: 'Clone', value: 'clone' },
      { label: 'Cancel', value: 'cancel' },
    ],
  })
  if (action !== 'clone' || !input) return
  const to = input.trim()
  try {
    await api().call('env.clone', { from, to })
    await useEnvs.getState().refresh()
    await openEnv(to)
    notify(`Cloned ${from} to ${to}`)
  } catch (err) {
    reportError(`Cloning ${from} to ${to}`, err)
  }
}

/**
 * The environments that use `id` (an import of any version of it, or an `${environments…}` reference), as
 * the store judges it (`env.importers`, the same rule that refuses `env.delete` without `force`). The delete
 * dialog names them: deleting `id` breaks them.
 */
export async function importersOf(id: string): Promise<string[]> {
  const uses = await api().call('env.importers', { id })
  return [...new Set(uses.map((u) => u.id))].sort()
}

export async function deleteEnv(id: string): Promise<void> {
  let importers: string[]
  try {
    importers = await importersOf(id)
  } catch (err) {
    reportError(`Finding what imports ${id}`, err)
    return
  }
  const n = importers.length
  const { action } = await useApp.getState().ask({
    title: `Delete ${id}?`,
    body:
      n === 0
        ? 'The environment and all its revisions are deleted. No environment imports it.'
        : `The environment and all its revisions are deleted. ${n === 1 ? 'One environment imports' : `${n} environments import`} it and will fail to open until ${n === 1 ? 'its import is' : 'their imports are'} fixed.`,
    ...(n > 0 ? { items: { label: 'Imported by:', values: importers } } : {}),
    actions: [
      { label: n > 0 ? `Delete, breaking ${n} importer${n > 1 ? 's' : ''}` : 'Delete', value: 'delete', danger: true },
      { label: 'Cancel', value: 'cancel' },
    ],
    // Enter or Space right after opening must not delete
    focus: 'cancel',
  })
  if (action !== 'delete') return
  deletingHere.add(id)
  try {
    // force only when the user confirmed the importers listed above (with none listed, one added meanwhile is refused: in_use)
    await api().call('env.delete', { id, force: n > 0 })
    if (useEditor.getState().id === id) useEditor.getState().close()
    await useEnvs.getState().refresh()
    notify(`Deleted ${id}`)
  } catch (err) {
    reportError(`Deleting ${id}`, err)
  } finally {
    deletingHere.delete(id)
  }
}

/** Switches to the next/previous environment in the (filtered) list. */
export function switchEnv(delta: 1 | -1, ids: string[]): void {
  if (ids.length === 0) return
  const cur = useEditor.getState().id
  const i = cur ? ids.indexOf(cur) : -1
  const next = ids[(i + delta + ids.length) % ids.length]
  if (next) void openEnv(next)
}
