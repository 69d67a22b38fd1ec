import { Suspense, lazy, useEffect, useMemo } from 'react'
import { api } from './api/client.ts'
import { useApp } from './stores/app.ts'
import type { Screen } from './stores/app.ts'
import { useEditor, isDirty } from './stores/editor.ts'
import { filterEnvs, useEnvs } from './stores/envs.ts'
import { reportError } from './stores/notices.ts'
import { switchEnv } from './actions.ts'
import { watchStore } from './stores/watch.ts'
import { Sidebar } from './components/Sidebar.tsx'
import { Notices } from './components/Notices.tsx'
import { ConfirmDialog } from './components/ConfirmDialog.tsx'
import { ErrorBoundary } from './components/ErrorBoundary.tsx'
import { RunScreen } from './screens/RunScreen.tsx'
import { ExportScreen } from './screens/ExportScreen.tsx'
import { SettingsScreen } from './screens/SettingsScreen.tsx'
import { AuditScreen } from './screens/AuditScreen.tsx'

// Monaco and React Flow are big: loaded on first use so the shell is interactive sooner
const EditorScreen = lazy(() => import('./screens/EditorScreen.tsx').then((m) => ({ default: m.EditorScreen })))
const HistoryScreen = lazy(() => import('./screens/HistoryScreen.tsx').then((m) => ({ default: m.HistoryScreen })))
const GraphScreen = lazy(() => import('./screens/GraphScreen.tsx').then((m) => ({ default: m.GraphScreen })))

const tabs: { screen: Screen; label: string; needsEnv: boolean }[] = [
  { screen: 'editor', label: 'Editor', needsEnv: true },
  { screen: 'history', label: 'History', needsEnv: true },
  { screen: 'graph', label: 'Import graph', needsEnv: false },
  { screen: 'run', label: 'Run', needsEnv: true },
  { screen: 'export', label: 'Export', needsEnv: true },
  { screen: 'audit', label: 'Audit log', needsEnv: false },
  { screen: 'settings', label: 'Settings', needsEnv: false },
]

export function App() {
  const theme = useApp((s) => s.theme)
  const screen = useApp((s) => s.screen)
  const setScreen = useApp((s) => s.setScreen)
  const setTheme = useApp((s) => s.setTheme)
  const reveal = useApp((s) => s.reveal)
  const setReveal = useApp((s) => s.setReveal)
  const info = useApp((s) => s.info)
  const id = useEditor((s) => s.id)
  const dirty = useEditor(isDirty)
  const list = useEnvs((s) => s.list)
  const search = useEnvs((s) => s.search)
  const visibleIds = useMemo(() => filterEnvs(list, search).map((e) => e.id), [list, search])

  useEffect(() => {
    document.documentElement.dataset.theme = theme
  }, [theme])

  useEffect(() => {
    api()
      .call('app.info', {})
      .then((i) => useApp.getState().setInfo(i))
      .catch((err: unknown) => reportError('Connecting to Envelope', err))
    void useEnvs.getState().refresh()
    // changes made elsewhere (CLI, agent, sync) show up without a reload
    const unwatch = watchStore()
    // warm the editor chunk (Monaco) once the shell is up
    const t = setTimeout(() => void import('./screens/EditorScreen.tsx'), 50)
    return () => {
      clearTimeout(t)
      unwatch()
    }
  }, [])

  useEffect(() => {
    document.title = id ? `${dirty ? '● ' : ''}${id} — Envelope` : 'Envelope'
  }, [id, dirty])

  // a promise nobody awaited still reaches the user
  useEffect(() => {
    const onRejection = (e: PromiseRejectionEvent) => {
      const r = e.reason as { name?: string; message?: string } | undefined
      // cancellations (Monaco cancels superseded requests) are not failures: not reported, and not left
      // to the browser's "Uncaught (in promise)" either
      if (r?.name === 'Canceled' || r?.message === 'Canceled' || r?.name === 'AbortError') {
        e.preventDefault()
        return
      }
      reportError('A background task', e.reason)
    }
    window.addEventListener('unhandledrejection', onRejection)
    return () => window.removeEventListener('unhandledrejection', onRejection)
  }, [])

  // warn before closing the window/tab with unsaved changes
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (isDirty(useEditor.getState())) e.preventDefault()
    }
    window.addEventListener('beforeunload', onBeforeUnload)
    return () => window.removeEventListener('beforeunload', onBeforeUnload)
  }, [])

  // global shortcuts: Ctrl/Cmd+S save, Ctrl/Cmd+K search, Alt+Up/Down switch environment, Ctrl+1..7 screens
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey
      if (mod && e.key.toLowerCase() === 's') {
        e.preventDefault()
        if (isDirty(useEditor.getState())) void useEditor.getState().save()
      } else if (mod && (e.key.toLowerCase() === 'k' || e.key.toLowerCase() === 'p')) {
        e.preventDefault()
        document.getElementById('env-search')?.focus()
      } else if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault()
        switchEnv(e.key === 'ArrowDown' ? 1 : -1, visibleIds)
      } else if (mod && /^[1-7]$/.test(e.key)) {
        const tab = tabs[Number(e.key) - 1]
        if (tab) {
          e.preventDefault()
          setScreen(tab.screen)
        }
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [visibleIds, setScreen])

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">✉ Envelope</div>
        <nav className="tabs" role="tablist">
          {tabs.map((t, i) => (
            <button
              key={t.screen}
              role="tab"
              aria-selected={screen === t.screen}
              className={screen === t.screen ? 'tab active' : 'tab'}
              onClick={() => setScreen(t.screen)}
              title={`Ctrl+${i + 1}`}
              data-testid={`tab-${t.screen}`}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <div className="topbar-right">
          {info?.mode === 'web' && (
            <span className="badge" title={`data folder: ${info.dataDir}`}>
              web mode
            </span>
          )}
          <label className="toggle" title="Show secret values in the preview, hovers and exports">
            <input type="checkbox" checked={reveal} onChange={(e) => setReveal(e.target.checked)} data-testid="reveal-toggle" /> Reveal secrets
          </label>
          <button className="icon" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title="Toggle light/dark theme" data-testid="theme-toggle">
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      <Sidebar />
      <main className="content">
        {tabs.find((t) => t.screen === screen)?.needsEnv && !id ? (
          <div className="empty">
            <h2>No environment open</h2>
            <p>Pick an environment on the left, or create one with “New”.</p>
            <p className="muted">Shortcuts: Ctrl+K search · Alt+↑/↓ switch environment · Ctrl+S save · Ctrl+1…7 screens</p>
          </div>
        ) : (
          <ErrorBoundary key={screen} name={tabs.find((t) => t.screen === screen)?.label ?? screen}>
            <Suspense fallback={<p className="muted pad">Loading…</p>}>
              {screen === 'editor' && <EditorScreen />}
              {screen === 'history' && <HistoryScreen />}
              {screen === 'graph' && <GraphScreen />}
              {screen === 'run' && <RunScreen />}
              {screen === 'export' && <ExportScreen />}
              {screen === 'audit' && <AuditScreen />}
              {screen === 'settings' && <SettingsScreen />}
            </Suspense>
          </ErrorBoundary>
        )}
      </main>
      <Notices />
      <ConfirmDialog />
    </div>
  )
}

export function NoTransport() {
  return (
    <div className="app-error">
      <h1>Envelope cannot reach its backend</h1>
      <p>This page needs the access token that Envelope puts in the address it prints.</p>
      <p>
        Run <code>envelope ui</code> (or <code>npm run web</code>) and open the exact URL it prints, including the part after <code>#</code>.
      </p>
    </div>
  )
}
