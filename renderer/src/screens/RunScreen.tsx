import { useEffect, useRef, useState } from 'react'
import type { RunChunk } from '../../../shared/ipc.ts'
import { splitCommandLine } from '../../../shared/cmdline.ts'
import { api } from '../api/client.ts'
import { useEditor, isDirty } from '../stores/editor.ts'
import { notify, reportError } from '../stores/notices.ts'
import { UserError } from '../../../shared/errors.ts'

interface RunView {
  runId: string
  argv: string[]
  variables: string[]
  chunks: RunChunk[]
  done: boolean
  exitCode?: number | null
  signal?: string | null
}

export function RunScreen() {
  const id = useEditor((s) => s.id) as string
  const dirty = useEditor(isDirty)
  const [command, setCommand] = useState(() => localStorage.getItem('envelope.runCommand') ?? "sh -c 'env | sort'")
  const [run, setRun] = useState<RunView | undefined>()
  const outRef = useRef<HTMLPreElement>(null)

  useEffect(() => {
    if (!run || run.done) return
    let since = run.chunks.length
    let stopped = false
    const tick = async () => {
      while (!stopped) {
        try {
          const p = await api().call('run.poll', { runId: run.runId, since })
          since = p.next
          setRun((r) =>
            r && r.runId === run.runId ? { ...r, chunks: [...r.chunks, ...p.chunks], done: p.done, exitCode: p.exitCode ?? null, signal: p.signal ?? null } : r,
          )
          if (p.done) return
        } catch (err) {
          reportError('Reading the command output', err)
          return
        }
        await new Promise((r) => setTimeout(r, 150))
      }
    }
    void tick()
    return () => {
      stopped = true
    }
  }, [run?.runId])

  useEffect(() => {
    outRef.current?.scrollTo(0, outRef.current.scrollHeight)
  }, [run?.chunks.length])

  const start = async () => {
    let argv: string[]
    try {
      argv = splitCommandLine(command)
      if (argv.length === 0) throw new UserError('invalid_input', 'no command to run', { hint: "type a command, e.g. printenv or sh -c 'echo $MY_VAR'" })
    } catch (err) {
      reportError('Parsing the command', err)
      return
    }
    localStorage.setItem('envelope.runCommand', command)
    try {
      const r = await api().call('run.start', { id, argv })
      setRun({ runId: r.runId, argv, variables: r.variables, chunks: [], done: false })
    } catch (err) {
      reportError(`Running ${argv[0]} with ${id}`, err)
    }
  }

  const terminal = async () => {
    try {
      const r = await api().call('terminal.launch', { id })
      notify(`Opened ${r.command} with ${id}`)
    } catch (err) {
      reportError(`Opening a terminal with ${id}`, err)
    }
  }

  return (
    <div className="run-screen">
      <div className="toolbar">
        <strong>Run with {id}</strong>
        {dirty && <span className="muted">uses the last saved revision</span>}
        <span className="spacer" />
        <button
          onClick={() => void terminal()}
          data-testid="launch-terminal"
          title="Open your terminal (Settings → terminal command) with this environment's variables"
        >
          Open terminal
        </button>
      </div>
      <form
        className="run-form"
        onSubmit={(e) => {
          e.preventDefault()
          void start()
        }}
      >
        <input
          className="command"
          value={command}
          onChange={(e) => setCommand(e.target.value)}
          aria-label="Command"
          data-testid="run-command"
          spellCheck={false}
        />
        <button className="primary" type="submit" disabled={!!run && !run.done} data-testid="run-start">
          Run
        </button>
        {run && !run.done && (
          <button
            type="button"
            className="danger"
            onClick={() =>
              void api()
                .call('run.kill', { runId: run.runId })
                .catch((err: unknown) => reportError('Stopping the command', err))
            }
          >
            Stop
          </button>
        )}
      </form>
      <p className="muted pad">
        Not run through a shell: use <code>sh -c '…'</code> for pipes and variables. Secret values are replaced by [secret] in the output.
      </p>
      {run && (
        <div className="run-output">
          <div className="muted pad" data-testid="run-vars">
            injected: {run.variables.length ? run.variables.join(', ') : 'no variables (add environmentVariables to the environment)'}
          </div>
          <pre ref={outRef} className="output" data-testid="run-output">
            {run.chunks.map((c, i) => (
              <span key={i} className={c.stream}>
                {c.text}
              </span>
            ))}
          </pre>
          <div className="pad" data-testid="run-status">
            {run.done ? (run.signal ? `killed by ${run.signal}` : `exited with code ${run.exitCode}`) : 'running…'}
          </div>
        </div>
      )}
    </div>
  )
}
