import { useMemo } from 'react'
import { filterEnvs, groupByProject, useEnvs } from '../stores/envs.ts'
import { useEditor, isDirty } from '../stores/editor.ts'
import { cloneEnv, createEnv, deleteEnv, openEnv } from '../actions.ts'

export function Sidebar() {
  const list = useEnvs((s) => s.list)
  const loaded = useEnvs((s) => s.loaded)
  const search = useEnvs((s) => s.search)
  const setSearch = useEnvs((s) => s.setSearch)
  const current = useEditor((s) => s.id)
  const dirty = useEditor(isDirty)
  const groups = useMemo(() => groupByProject(filterEnvs(list, search)), [list, search])

  return (
    <aside className="sidebar" aria-label="Environments">
      <div className="sidebar-head">
        <input
          id="env-search"
          type="search"
          placeholder="Search environments (Ctrl+K)"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          onKeyDown={(e) => {
            const first = groups[0]?.[1][0]
            if (e.key === 'Enter' && first) void openEnv(first.id)
          }}
          data-testid="env-search"
        />
        <button className="primary" onClick={() => void createEnv()} data-testid="env-new">
          New
        </button>
      </div>
      <div className="env-list" data-testid="env-list">
        {loaded && list.length === 0 && <p className="muted pad">No environments yet. Create one with “New”.</p>}
        {loaded && list.length > 0 && groups.length === 0 && <p className="muted pad">Nothing matches “{search}”.</p>}
        {groups.map(([project, envs]) => (
          <section key={project} className="project">
            <h3>{project}</h3>
            <ul>
              {envs.map((e) => (
                <li key={e.id} className={e.id === current ? 'env active' : 'env'}>
                  <button
                    className="env-open"
                    onClick={() => void openEnv(e.id)}
                    data-testid={`env-item-${e.id}`}
                    title={`revision ${e.latestRevision}, modified ${new Date(e.modified).toLocaleString()}`}
                  >
                    {e.name}
                    {e.id === current && dirty ? (
                      <span className="dirty-dot" title="unsaved changes">
                        {' '}
                        ●
                      </span>
                    ) : null}
                    <span className="rev">r{e.latestRevision}</span>
                  </button>
                  <span className="env-actions">
                    <button className="icon small" title={`Clone ${e.id}`} onClick={() => void cloneEnv(e.id)} data-testid={`env-clone-${e.id}`}>
                      ❐
                    </button>
                    <button className="icon small danger" title={`Delete ${e.id}`} onClick={() => void deleteEnv(e.id)} data-testid={`env-delete-${e.id}`}>
                      ✕
                    </button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </aside>
  )
}
