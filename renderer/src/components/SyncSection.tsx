/**
 * Settings → Sync: log in to an Envelope team server (token goes to the OS keychain via the main side and is
 * never shown again), per-environment status, Sync now, log out; conflicts open the three-way conflict view.
 */
import { useEffect, useState } from 'react'
import { DiffEditor } from '@monaco-editor/react'
import Editor from '@monaco-editor/react'
import type { SyncAccount, SyncConflictView, SyncEnvStatus, SyncOutcome } from '../../../shared/sync-ipc.ts'
import { syncStateLabel } from '../../../shared/sync-ipc.ts'
import { plainHttpWarning } from '../../../shared/domain/plain-http.ts'
import { api } from '../api/client.ts'
import { useApp } from '../stores/app.ts'
import { notify, reportError } from '../stores/notices.ts'
import { useEnvs } from '../stores/envs.ts'
import { useEditor } from '../stores/editor.ts'
import { setupMonaco } from '../monaco/setup.ts'

setupMonaco()

/** After sync wrote local revisions: refresh the list, and reload the open editor unless it has unsaved edits. */
async function afterLocalWrites(ids: string[]): Promise<void> {
  await useEnvs.getState().refresh()
  const ed = useEditor.getState()
  if (ed.id && ids.includes(ed.id) && ed.buffer === ed.saved) await ed.load(ed.id, { decrypt: ed.decrypted })
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

function outcomeText(r: SyncOutcome): string {
  switch (r.action) {
    case 'up-to-date':
      return 'in sync'
    case 'linked':
      return 'in sync (same text)'
    case 'pushed':
      return `pushed ${r.pushed.length} revision(s)`
    case 'pulled':
      return `pulled ${r.pulled.length} revision(s)`
    case 'created-remote':
      return 'created on the server'
    case 'created-local':
      return 'created locally'
    case 'conflict':
      return 'conflict'
    case 'error':
      return `error: ${r.error?.message ?? ''}`
  }
}

export function SyncSection() {
  const [account, setAccount] = useState<SyncAccount | null | undefined>(undefined)
  const [url, setUrl] = useState('')
  const [token, setToken] = useState('')
  const [org, setOrg] = useState('')
  const [statuses, setStatuses] = useState<SyncEnvStatus[] | undefined>()
  const [problem, setProblem] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const [conflict, setConflict] = useState<SyncConflictView | undefined>()

  const loadStatus = async () => {
    try {
      setStatuses(await api().call('sync.status', {}))
      setProblem(undefined)
    } catch (err) {
      setProblem(message(err))
    }
  }
  useEffect(() => {
    api()
      .call('sync.account', {})
      .then((a) => {
        setAccount(a)
        if (a) void loadStatus()
      })
      .catch((err: unknown) => reportError('Reading the sync account', err))
  }, [])

  const login = async () => {
    const insecure = plainHttpWarning(url.trim())
    if (insecure) {
      const { action } = await useApp.getState().ask({
        title: 'Send the token unencrypted?',
        body: `${insecure}. Use https:// unless this network is yours alone.`,
        actions: [
          { label: 'Send over plain HTTP', value: 'insecure', danger: true },
          { label: 'Cancel', value: 'cancel' },
        ],
        focus: 'cancel',
      })
      if (action !== 'insecure') return
    }
    setBusy(true)
    try {
      const a = await api().call('sync.login', {
        url: url.trim(),
        token: token.trim(),
        ...(org.trim() ? { org: org.trim() } : {}),
        ...(insecure ? { insecure: true } : {}),
      })
      setToken('')
      setAccount(a)
      notify(`Logged in to ${a.url} as ${a.login}`)
      await loadStatus()
    } catch (err) {
      setProblem(message(err))
    } finally {
      setBusy(false)
    }
  }
  const logout = async () => {
    try {
      await api().call('sync.logout', {})
      setAccount(null)
      setStatuses(undefined)
      setProblem(undefined)
      notify('Logged out; the token was removed from the keychain')
    } catch (err) {
      reportError('Logging out', err)
    }
  }
  const syncNow = async () => {
    setBusy(true)
    try {
      const results = await api().call('sync.now', {})
      const changed = results.filter((r) => r.action !== 'up-to-date')
      const conflicts = results.filter((r) => r.action === 'conflict')
      notify(changed.length ? changed.map((r) => `${r.environment}: ${outcomeText(r)}`).join('; ') : 'Everything is in sync')
      await loadStatus()
      await afterLocalWrites(results.filter((r) => r.pulled.length > 0 || r.action === 'created-local').map((r) => r.environment))
      if (conflicts[0]?.conflict) setConflict(conflicts[0].conflict)
    } catch (err) {
      setProblem(message(err))
    } finally {
      setBusy(false)
    }
  }
  const openConflict = async (id: string) => {
    try {
      setConflict(await api().call('sync.conflict', { id }))
    } catch (err) {
      reportError(`Loading the conflict of ${id}`, err)
    }
  }

  if (account === undefined) return <p className="muted">…</p>
  if (!account) {
    return (
      <div data-testid="sync-section">
        <p data-testid="sync-status">Sync account: not configured.</p>
        <label className="field">
          Server URL
          <input value={url} placeholder="https://envelope.example.com" onChange={(e) => setUrl(e.target.value)} data-testid="sync-url" spellCheck={false} />
        </label>
        <label className="field">
          Access token (kept in the OS keychain)
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} data-testid="sync-token" autoComplete="off" />
        </label>
        <label className="field">
          Organization (optional)
          <input value={org} onChange={(e) => setOrg(e.target.value)} data-testid="sync-org" spellCheck={false} />
        </label>
        {problem && (
          <div className="warning error" data-testid="sync-problem">
            {problem}
          </div>
        )}
        <button onClick={() => void login()} disabled={busy || !url.trim() || !token.trim()} data-testid="sync-login">
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </div>
    )
  }
  return (
    <div data-testid="sync-section">
      <p data-testid="sync-status">
        Sync account: <strong>{account.login}</strong> on <code>{account.url}</code> (organization {account.org})
      </p>
      {problem && (
        <div className="warning error" data-testid="sync-problem">
          {problem}
        </div>
      )}
      {statuses && (
        <table className="sync-table" data-testid="sync-envs">
          <tbody>
            {statuses.length === 0 && (
              <tr>
                <td className="muted">No environments on either side.</td>
              </tr>
            )}
            {statuses.map((s) => (
              <tr key={s.environment} data-testid={`sync-env-${s.environment}`}>
                <td>
                  <code>{s.environment}</code>
                </td>
                <td
                  className={s.state === 'in-sync' ? 'ok' : s.state === 'conflict' || s.state === 'diverged' ? 'error' : ''}
                  data-testid={`sync-state-${s.environment}`}
                >
                  {syncStateLabel[s.state]}
                </td>
                <td className="muted">
                  {s.localRevision !== undefined ? `local r${s.localRevision}` : ''} {s.remoteRevision !== undefined ? `· server r${s.remoteRevision}` : ''}
                </td>
                <td>
                  {s.state === 'conflict' && (
                    <button onClick={() => void openConflict(s.environment)} data-testid={`sync-resolve-${s.environment}`}>
                      Resolve…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row">
        <button onClick={() => void syncNow()} disabled={busy} data-testid="sync-now">
          {busy ? 'Syncing…' : 'Sync now'}
        </button>
        <button onClick={() => void loadStatus()} disabled={busy} data-testid="sync-refresh">
          Refresh
        </button>
        <button onClick={() => void logout()} disabled={busy} data-testid="sync-logout">
          Log out
        </button>
      </div>
      {conflict && (
        <ConflictView
          conflict={conflict}
          onClose={() => setConflict(undefined)}
          onResolved={async () => {
            const id = conflict.environment
            setConflict(undefined)
            await loadStatus()
            await afterLocalWrites([id])
          }}
        />
      )}
    </div>
  )
}

type Compare = 'local-remote' | 'base-local' | 'base-remote'

/** Three-way conflict view: Monaco diff of two of base / local / server, and the three ways out. */
export function ConflictView(props: { conflict: SyncConflictView; onClose(): void; onResolved(): Promise<void> }) {
  const c = props.conflict
  const theme = useApp((s) => s.theme)
  const [compare, setCompare] = useState<Compare>('local-remote')
  const [merged, setMerged] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const [left, right, labels] =
    compare === 'local-remote'
      ? [c.local, c.remote, ['local', 'server']]
      : compare === 'base-local'
        ? [c.base, c.local, ['base', 'local']]
        : [c.base, c.remote, ['base', 'server']]

  const resolve = async (yaml: string, how: string) => {
    if (/^(<{7}|\|{7}|={7}|>{7})( |$)/m.test(yaml)) {
      setError('The merged text still has conflict markers (<<<<<<< ||||||| ======= >>>>>>>); edit them out first.')
      return
    }
    setBusy(true)
    try {
      const r = await api().call('sync.resolve', { id: c.environment, yaml })
      if (r.action === 'conflict') {
        setError('The server or the local copy changed again meanwhile; sync again to see the new conflict.')
        return
      }
      notify(`${c.environment}: ${how}; saved locally and pushed`)
      await props.onResolved()
    } catch (err) {
      setError(message(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && !busy && props.onClose()}>
      <div
        className="modal sync-conflict"
        role="dialog"
        aria-modal="true"
        aria-label={`Sync conflict in ${c.environment}`}
        style={{ width: 'min(1200px, 94vw)', maxWidth: 'none', height: '86vh', display: 'flex', flexDirection: 'column', gap: 8 }}
        data-testid="sync-conflict"
      >
        <h4>
          Conflict in <code>{c.environment}</code>: local r{c.localRevision} vs server r{c.remoteRevision}
          {c.basePair ? ` (base: local r${c.basePair.local} = server r${c.basePair.remote})` : ' (never synced: empty base)'}
        </h4>
        <div className="row">
          <label>
            Compare{' '}
            <select value={compare} onChange={(e) => setCompare(e.target.value as Compare)} data-testid="sync-compare">
              <option value="local-remote">local ↔ server</option>
              <option value="base-local">base ↔ local (my changes)</option>
              <option value="base-remote">base ↔ server (their changes)</option>
            </select>
          </label>
          <span className="muted" data-testid="sync-diff-labels">
            {labels[0]} ↔ {labels[1]} · automatic merge: {c.conflicts === 0 ? 'clean' : `${c.conflicts} conflicting region(s)`}
          </span>
        </div>
        {merged === undefined ? (
          <div className="diff-host" style={{ flex: 1, minHeight: 200 }} data-testid="sync-diff">
            <DiffEditor
              original={left}
              modified={right}
              language="yaml"
              theme={theme === 'dark' ? 'vs-dark' : 'vs'}
              originalModelPath={`envelope://sync/${c.environment}/${c.localRevision}-${c.remoteRevision}/${compare}/left.yaml`}
              modifiedModelPath={`envelope://sync/${c.environment}/${c.localRevision}-${c.remoteRevision}/${compare}/right.yaml`}
              keepCurrentOriginalModel
              keepCurrentModifiedModel
              options={{
                readOnly: true,
                renderSideBySide: true,
                minimap: { enabled: false },
                automaticLayout: true,
                scrollBeyondLastLine: false,
                stickyScroll: { enabled: false },
              }}
            />
          </div>
        ) : (
          <div className="diff-host" style={{ flex: 1, minHeight: 200 }} data-testid="sync-merged">
            <Editor
              value={merged}
              onChange={(v) => setMerged(v ?? '')}
              language="yaml"
              theme={theme === 'dark' ? 'vs-dark' : 'vs'}
              path={`envelope://sync/${c.environment}/merged.yaml`}
              options={{ minimap: { enabled: false }, automaticLayout: true, scrollBeyondLastLine: false, stickyScroll: { enabled: false } }}
            />
          </div>
        )}
        {error && (
          <div className="warning error" data-testid="sync-conflict-error">
            {error}
          </div>
        )}
        <div className="row">
          <button onClick={() => void resolve(c.local, 'kept mine')} disabled={busy} data-testid="sync-keep-mine">
            Keep mine
          </button>
          <button onClick={() => void resolve(c.remote, 'took theirs')} disabled={busy} data-testid="sync-take-theirs">
            Take theirs
          </button>
          {merged === undefined ? (
            <button onClick={() => setMerged(c.merged)} disabled={busy} data-testid="sync-edit-merged">
              Edit merged…
            </button>
          ) : (
            <button className="primary" onClick={() => void resolve(merged, 'merged')} disabled={busy} data-testid="sync-save-merged">
              Save merged
            </button>
          )}
          <button onClick={props.onClose} disabled={busy} data-testid="sync-conflict-close">
            Close
          </button>
        </div>
      </div>
    </div>
  )
}
