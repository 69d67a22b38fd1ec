/** The environment list (grouped by project in the sidebar), search, and list operations. */
import { create } from 'zustand'
import type { EnvironmentSummary } from '../../../shared/models.ts'
import { api } from '../api/client.ts'
import { reportError } from './notices.ts'

interface EnvsState {
  list: EnvironmentSummary[]
  loaded: boolean
  search: string
  setSearch(s: string): void
  refresh(): Promise<void>
}

export const useEnvs = create<EnvsState>((set) => ({
  list: [],
  loaded: false,
  search: '',
  setSearch: (search) => set({ search }),
  refresh: async () => {
    try {
      const list = await api().call('env.list', {})
      list.sort((a, b) => a.id.localeCompare(b.id))
      set({ list, loaded: true })
    } catch (err) {
      set({ loaded: true })
      reportError('Loading the environment list', err)
    }
  },
}))

/** environments this window is deleting: the store watch does not report them as deleted elsewhere */
export const deletingHere = new Set<string>()

/** Case-insensitive match on `project/name` and tag values. */
export function filterEnvs(list: EnvironmentSummary[], search: string): EnvironmentSummary[] {
  const q = search.trim().toLowerCase()
  if (!q) return list
  return list.filter((e) => e.id.toLowerCase().includes(q) || Object.values(e.tags).some((v) => v.toLowerCase().includes(q)))
}

export function groupByProject(list: EnvironmentSummary[]): [string, EnvironmentSummary[]][] {
  const m = new Map<string, EnvironmentSummary[]>()
  for (const e of list) {
    const arr = m.get(e.project) ?? []
    arr.push(e)
    m.set(e.project, arr)
  }
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b))
}
