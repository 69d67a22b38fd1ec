import { useEffect, useState } from 'react'
import type { KeyStatus } from '../../../shared/models.ts'
import type { SettingsInfo } from '../../../shared/ipc.ts'
import { api } from '../api/client.ts'
import { useApp } from '../stores/app.ts'
import { notify, reportError } from '../stores/notices.ts'
import { SyncSection } from '../components/SyncSection.tsx'
import { AgentSection } from '../components/AgentSection.tsx'

export function SettingsScreen() {
  const info = useApp((s) => s.info)
  const theme = useApp((s) => s.theme)
  const setTheme = useApp((s) => s.setTheme)
  const [key, setKey] = useState<KeyStatus | undefined>()
  const [keyError, setKeyError] = useState<string | undefined>()
  const [settings, setSettings] = useState<SettingsInfo | undefined>()
  const [terminal, setTerminal] = useState('')
  const [rotating, setRotating] = useState(false)
  /** bumped after a key rotation, which stops the agent (it held the old key) */
  const [rotations, setRotations] = useState(0)

  const loadKey = () =>
    api()
      .call('key.status', {})
      .then((k) => {
        setKey(k)
        setKeyError(undefined)
      })
      .catch((err: unknown) => setKeyError(err instanceof Error ? err.message : String(err)))

  useEffect(() => {
    void loadKey()
    api()
      .call('settings.get', {})
      .then((s) => {
        setSettings(s)
        setTerminal(s.terminalCommand)
      })
      .catch((err: unknown) => reportError('Loading settings', err))
  }, [])

  const rotate = async () => {
    const { action } = await useApp.getState().ask({
      title: 'Rotate the encryption key?',
      body: 'A new key is created in the keychain and every environment key is re-wrapped with it. Stored secrets stay readable.',
      actions: [
        { label: 'Rotate key', value: 'rotate', danger: true },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'rotate') return
    setRotating(true)
    try {
      const r = await api().call('key.rotate', {})
      notify(`Key rotated; ${r.rewrapped} environment key${r.rewrapped === 1 ? '' : 's'} re-wrapped`)
      await loadKey()
      setRotations((n) => n + 1)
    } catch (err) {
      reportError('Rotating the key', err)
    } finally {
      setRotating(false)
    }
  }

  const saveTerminal = async () => {
    try {
      const s = await api().call('settings.set', { terminalCommand: terminal.trim() })
      setSettings(s)
      notify('Terminal command saved')
    } catch (err) {
      reportError('Saving the terminal command', err)
    }
  }

  return (
    <div className="settings-screen" data-testid="settings">
      <section className="card">
        <h3>Keys</h3>
        {keyError && <div className="warning error">Key status unavailable: {keyError}</div>}
        {key && (
          <dl className="kv" data-testid="key-status">
            <dt>Backend</dt>
            <dd>{key.backend}</dd>
            <dt>Where</dt>
            <dd>{key.description}</dd>
            <dt>Status</dt>
            <dd className={key.available ? 'ok' : 'error'}>{key.available ? 'available' : 'unavailable'}</dd>
            {key.keyId && (
              <>
                <dt>Key id</dt>
                <dd>
                  <code>{key.keyId}</code>
                </dd>
              </>
            )}
            {key.message && (
              <>
                <dt>Note</dt>
                <dd>{key.message}</dd>
              </>
            )}
          </dl>
        )}
        <button onClick={() => void rotate()} disabled={rotating || !key?.available} data-testid="rotate-key">
          {rotating ? 'Rotating…' : 'Rotate key'}
        </button>
      </section>
      <section className="card" data-testid="agent">
        <h3>Command-line agent</h3>
        <AgentSection refresh={rotations} />
      </section>
      <section className="card">
        <h3>Data folder</h3>
        <p>
          <code data-testid="data-dir">{info?.dataDir ?? '…'}</code>
        </p>
        <p className="muted">Start Envelope with ENVELOPE_DATA_DIR set to use another folder.</p>
      </section>
      <section className="card">
        <h3>Terminal</h3>
        <label className="field">
          Terminal command (empty = default for this OS)
          <input
            value={terminal}
            placeholder={settings?.defaultTerminalCommand ?? ''}
            onChange={(e) => setTerminal(e.target.value)}
            data-testid="terminal-command"
            spellCheck={false}
          />
        </label>
        <p className="muted">
          Default here: <code>{settings?.defaultTerminalCommand}</code>. The environment's variables are added to the terminal's process environment.
        </p>
        <button onClick={() => void saveTerminal()} disabled={!settings || terminal.trim() === settings.terminalCommand} data-testid="terminal-save">
          Save
        </button>
      </section>
      <section className="card">
        <h3>Appearance</h3>
        <label className="toggle">
          <input type="checkbox" checked={theme === 'dark'} onChange={(e) => setTheme(e.target.checked ? 'dark' : 'light')} /> Dark theme
        </label>
      </section>
      <section className="card">
        <h3>Sync</h3>
        <SyncSection />
      </section>
      <section className="card">
        <h3>About</h3>
        <p className="muted">
          Envelope {info?.version} · {info?.mode === 'web' ? 'web mode (loopback web transport)' : 'desktop'} · {info?.platform}
        </p>
      </section>
    </div>
  )
}
