/**
 * Settings → Command-line agent: whether the agent of this data folder runs (the `agent.*` channels, over
 * electron/services/agent), whether `envelope run` starts one by itself (the store setting
 * `agent.autostart`, as `envelope agent autostart on|off`), and Stop (as `envelope agent stop`).
 */
import { useEffect, useState } from 'react'
import type { ReactNode } from 'react'
import type { AgentInfo } from '../../../shared/ipc.ts'
import { api } from '../api/client.ts'
import { useApp } from '../stores/app.ts'
import { notify, reportError } from '../stores/notices.ts'

/** The status line (what `envelope agent status` says, for the app). */
function statusLine(a: AgentInfo, platform: string | undefined): ReactNode {
  if (a.running) {
    const since = a.started ? new Date(a.started).toLocaleString() : 'an unknown time'
    return `Running: pid ${a.pid}, since ${since}, ${a.served} run${a.served === 1 ? '' : 's'} served; it stops after ${a.idleMinutes} min without a served run.`
  }
  if (platform === 'win32') return 'Not running: the agent is not available on Windows yet.'
  if (!a.autostart) {
    return (
      <>
        Not running. <code>envelope run</code> does not start one (autostart is off); <code>envelope agent start</code> does.
      </>
    )
  }
  if (a.keyBackend === 'passphrase' || a.keyBackend === 'keyfile') {
    return (
      <>
        Not running. This store's key is a {a.keyBackend === 'passphrase' ? 'passphrase' : 'key file'}: <code>envelope run</code> never starts one by itself;{' '}
        <code>envelope agent start</code> does.
      </>
    )
  }
  return (
    <>
      Not running. <code>envelope run</code> starts one when an environment without providers is run again shortly after another run.
    </>
  )
}

/** `refresh`: changes when the status may have changed elsewhere on the screen (a key rotation stops the agent). */
export function AgentSection({ refresh }: { refresh: number }) {
  const platform = useApp((s) => s.info?.platform)
  const [agent, setAgent] = useState<AgentInfo | undefined>()
  const [busy, setBusy] = useState(false)

  const load = () =>
    api()
      .call('agent.status', {})
      .then(setAgent)
      .catch((err: unknown) => reportError('Reading the agent status', err))
  useEffect(() => void load(), [refresh])

  /** runs `call` (which answers the new status); `done` is noted once it succeeded */
  const act = async (what: string, call: () => Promise<AgentInfo>, done?: string) => {
    setBusy(true)
    try {
      setAgent(await call())
      if (done) notify(done)
    } catch (err) {
      reportError(what, err)
      await load() // undoes what was shown ahead of the answer
    } finally {
      setBusy(false)
    }
  }
  const running = agent?.running ? ` (pid ${agent.pid})` : ''
  const setAutostart = (on: boolean) => {
    setAgent((a) => a && { ...a, autostart: on }) // the checkbox follows the click at once
    return act(
      'Changing the agent autostart',
      () => api().call('agent.setAutostart', { autostart: on }),
      !on && running ? `Autostart off; stopped the running agent${running}` : undefined,
    )
  }
  const stop = () => act('Stopping the agent', () => api().call('agent.stop', {}), `Agent stopped${running}`)

  return (
    <>
      <p className="muted">
        A background process that keeps the store unlocked so that <code>envelope run</code> starts faster. It serves only environments without providers, and
        every run it serves is in the audit log.
      </p>
      <p data-testid="agent-status">{agent ? statusLine(agent, platform) : '…'}</p>
      <label className="toggle">
        <input
          type="checkbox"
          checked={agent?.autostart ?? true}
          disabled={!agent || busy}
          onChange={(e) => void setAutostart(e.target.checked)}
          data-testid="agent-autostart"
        />{' '}
        Start it automatically from <code>envelope run</code>
      </label>
      {agent?.running && (
        <p>
          <button onClick={() => void stop()} disabled={busy} data-testid="agent-stop">
            Stop agent
          </button>
        </p>
      )}
    </>
  )
}
