/**
 * `envelope agent …` (electron/services/agent): `start` runs `agent serve` detached, logging to
 * `<data folder>/agent.log`, and returns once the agent answers; `stop` and `status` talk to its socket;
 * `autostart` turns on or off the agent `envelope run` starts by itself (agentAutostart).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { UserError } from '../../../shared/errors.ts'
import type { OpenResult } from '../../../shared/models.ts'
import { agentObstacle, agentStatus, staleAgentSocket, stopAgent } from '../../services/agent/client.ts'
import { agentSocketPath, DEFAULT_IDLE_MINUTES, agentStartingPath } from '../../services/agent/protocol.ts'
import type { EnvironmentStore } from '../../services/index.ts'
import { resolveDataDir } from '../../services/paths.ts'
import { isoNow } from '../../services/time.ts'
import type { Cli } from '../context.ts'

function idleMinutes(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > 24 * 60)
    throw new UserError('invalid_input', `--idle must be a whole number of minutes from 1 to 1440, got ${JSON.stringify(text)}`)
  return n
}

function mustBeBuilt(cli: Cli): string {
  if (cli.build === undefined) {
    throw new UserError('invalid_input', 'the agent runs from the built CLI only (this is running the TypeScript sources)', {
      hint: 'npm run build:cli (./envelope builds it on first use)',
    })
  }
  return cli.build
}

export async function agentStartCommand(cli: Cli, opts: { idle: string }): Promise<void> {
  const idle = idleMinutes(opts.idle)
  const build = mustBeBuilt(cli)
  const dataDir = resolveDataDir()
  const running = await agentStatus(dataDir)
  if (running && running.build === build) {
    cli.out(`An agent already serves ${dataDir} (pid ${running.pid}).\n`)
    return
  }
  if (running) {
    // started by another build of envelope (an upgrade, a rebuild): it would decline this build's runs
    await stopAgent(dataDir)
    cli.err(`Stopped the agent of another envelope build (pid ${running.pid}).\n`)
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const logFile = join(dataDir, 'agent.log')
  const logStart = (() => {
    try {
      return statSync(logFile).size
    } catch {
      return 0
    }
  })()
  const child = spawnAgentServe(process.argv[1]!, dataDir, ['--idle', String(idle)])
  let exited: number | null | undefined
  child.once('exit', (code) => (exited = code))
  child.unref()
  const deadline = Date.now() + 60_000 // the keychain may ask to be unlocked first
  for (;;) {
    const s = await agentStatus(dataDir)
    if (s && s.pid === child.pid) {
      cli.out(`Agent started (pid ${s.pid}) for ${dataDir}; it stops after ${idle} min without a served run.\n`)
      cli.err('`envelope run` now takes the environments from it; `envelope agent stop` ends it.\n')
      return
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) child.kill()
      // what `agent serve` reported (`error: …` / `hint: …` lines, see fast.ts reportError)
      const lines = readFileSync(logFile, 'utf8').slice(logStart).split('\n')
      const why = lines
        .filter((l) => l.startsWith('error: '))
        .pop()
        ?.slice('error: '.length)
      const hint = lines
        .filter((l) => l.startsWith('hint: '))
        .pop()
        ?.slice('hint: '.length)
      throw new UserError('io', `the agent did not start${why ? `: ${why}` : ''}`, { hint: hint ? `${hint} (log: ${logFile})` : `see ${logFile}` })
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function agentServeCommand(cli: Cli, opts: { idle: string; auto?: boolean }): Promise<void> {
  const idle = idleMinutes(opts.idle)
  const build = mustBeBuilt(cli)
  const { startAgent } = await import('../../services/agent/server.ts')
  const stamp = (line: string): void => cli.err(`${isoNow()} ${line}\n`)
  const dataDir = resolveDataDir()
  let agent
  try {
    agent = await startAgent({ dataDir, build, idleMinutes: idle, log: stamp, auto: opts.auto === true })
  } catch (err) {
    if (opts.auto) rmSync(agentStartingPath(dataDir), { force: true }) // the next run may claim the start (after the back-off)
    // another agent came up first: it serves
    if (opts.auto && err instanceof UserError && err.code === 'already_exists') return
    throw err
  }
  const stop = (signal: string) => (): void => void agent.close(`signal ${signal}`)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, stop(signal))
  await agent.done
}

export async function agentStopCommand(cli: Cli): Promise<void> {
  const dataDir = resolveDataDir()
  const pid = await stopAgent(dataDir)
  if (pid === undefined) cli.err(`No agent serves ${dataDir}.\n`)
  else cli.out(`Agent stopped (pid ${pid}).\n`)
}

/** `agent autostart [on|off]`: shows or changes whether `envelope run` starts the agent by itself. */
export async function agentAutostartCommand(cli: Cli, value: string | undefined): Promise<void> {
  const store = await cli.store()
  if (value === undefined) {
    const on = store.setting('agent.autostart')
    cli.out(`autostart: ${on ? 'on' : 'off'}${process.env.ENVELOPE_NO_AGENT ? ' (but ENVELOPE_NO_AGENT is set: no agent is used)' : ''}\n`)
    return
  }
  if (value !== 'on' && value !== 'off')
    throw new UserError('invalid_input', `autostart is on or off, got ${JSON.stringify(value)}`, { hint: 'envelope agent autostart off' })
  await store.setSetting('agent.autostart', value === 'on')
  if (value === 'on') {
    cli.out('autostart: on. `envelope run` starts the agent when none runs (for a store whose key is in the OS keychain).\n')
    return
  }
  const pid = await stopAgent(store.dataDir)
  cli.out(
    `autostart: off. \`envelope run\` no longer starts the agent; \`envelope agent start\` still does.${pid === undefined ? '' : ` Stopped the running agent (pid ${pid}).`}\n`,
  )
}

/**
 * Runs `envelope agent serve …args` (`script`: bin/envelope) detached from this process, in the data folder,
 * its stderr appended to `<dataDir>/agent.log` (0600) after `note`.
 */
function spawnAgentServe(script: string, dataDir: string, args: string[], note?: string): ChildProcess {
  const log = openSync(join(dataDir, 'agent.log'), 'a', 0o600)
  try {
    if (note) writeSync(log, note)
    return spawn(process.execPath, [script, 'agent', 'serve', ...args], { detached: true, stdio: ['ignore', 'ignore', log], cwd: dataDir })
  } finally {
    closeSync(log)
  }
}

/** how long runs wait before starting an agent again after one failed to start */
const RETRY_AFTER_FAILURE_MS = 10 * 60_000

/** The inode of what is at `path` itself (a symlink is not followed). */
function socketIno(path: string): number | undefined {
  try {
    return lstatSync(path).ino
  } catch {
    return undefined
  }
}

/** how long a claim to start the agent holds (a run or an agent that died while starting leaves it) */
const START_CLAIM_MS = 30_000

/** Claims the start of the agent (see agentStartingPath); false when another run holds a live claim. */
function claimStart(path: string): boolean {
  const claim = (): boolean => {
    try {
      closeSync(openSync(path, 'wx', 0o600))
      return true
    } catch {
      return false
    }
  }
  if (claim()) return true
  try {
    if (Date.now() - statSync(path).mtimeMs < START_CLAIM_MS) return false
  } catch {
    // the claim went meanwhile (its agent started): claim() below fails or finds the socket after
  }
  rmSync(path, { force: true }) // left by a start that never finished
  return claim()
}

/**
 * Whether the agent's log ends with the error of a failed start (`error: …` / `hint: …`, see agent serve)
 * written less than RETRY_AFTER_FAILURE_MS ago: runs then do not try again (and pay for it) every time.
 */
function lastStartFailed(log: string): boolean {
  try {
    const st = statSync(log)
    if (Date.now() - st.mtimeMs > RETRY_AFTER_FAILURE_MS) return false
    const len = Math.min(st.size, 4096)
    const buf = Buffer.alloc(len)
    const fd = openSync(log, 'r')
    try {
      readSync(fd, buf, 0, len, st.size - len)
    } finally {
      closeSync(fd)
    }
    const last = buf.toString('utf8').trimEnd().split('\n').pop() ?? ''
    return /^(error|hint): /.test(last)
  } catch {
    return false // no log yet
  }
}

/**
 * `envelope run` after opening `res` itself (before recording it): when the agent would have served this
 * run but none runs, and another run came less than the idle time before, returns the function that
 * starts one in the background (called once the command has started, so the
 * run does not wait for it); undefined when it should not start. Only for the built CLI (the agent
 * serves its own build), a store whose key is in the OS keychain (a passphrase is asked of every process
 * unless the user starts an agent), a provider-free environment without diagnostics (what the agent
 * serves), a data folder only its owner can read (the agent refuses others), unless turned off
 * (`agent autostart off`, ENVELOPE_NO_AGENT). The agent's start-up is not awaited: a failure is in
 * `<data folder>/agent.log`, runs open the environment themselves as before, and do not try to start
 * one again for RETRY_AFTER_FAILURE_MS.
 */
export async function agentAutostart(cli: Cli, store: EnvironmentStore, res: OpenResult): Promise<(() => void) | undefined> {
  if (cli.build === undefined || process.env.ENVELOPE_NO_AGENT || process.platform === 'win32') return undefined
  if (res.providers !== undefined || res.diagnostics.length > 0) return undefined
  if (store.activeKeyInfo()?.backend !== 'keychain' || !store.setting('agent.autostart')) return undefined
  const dataDir = store.dataDir
  const socket = agentSocketPath(dataDir)
  // an agent runs there (it declined this run: another build, which stops when idle), or nothing of this
  // store answers there any more (killed with -9, a power loss; a link to another store's socket): the new
  // agent then replaces what is there
  const present = socketIno(socket) !== undefined
  const stale = present ? await staleAgentSocket(dataDir) : undefined
  if (present && stale === undefined) return undefined
  // what the agent would refuse (see prepareSocket)
  if (agentObstacle(dataDir)) return undefined
  if (lastStartFailed(`${dataDir}/agent.log`)) return undefined
  // the second run within the idle time starts it: a one-off run (a script, a daily use) pays nothing
  // for an agent it would not use, and leaves no process behind
  const previous = (await store.audit({ action: 'run', limit: 1 }))[0]
  if (!previous || Date.now() - Date.parse(previous.time) > DEFAULT_IDLE_MINUTES * 60_000) return undefined
  const script = process.argv[1]
  if (!script) return undefined
  return () => {
    try {
      if (!claimStart(agentStartingPath(dataDir))) return // another run is starting one
      // the agent puts its socket in place before it drops the claim: a run that claims after that sees it
      if (socketIno(socket) !== stale) {
        rmSync(agentStartingPath(dataDir), { force: true })
        return
      }
      spawnAgentServe(
        script,
        dataDir,
        ['--auto', '--idle', String(DEFAULT_IDLE_MINUTES)],
        `${isoNow()} envelope run (pid ${process.pid}) starts the agent\n`,
      ).unref()
    } catch {
      // an optimisation only: the next run opens the environment itself
    }
  }
}

/** For `agent status` when none runs: whether (and when) `envelope run` starts one, per agentAutostart. */
function whenRunStartsOne(dataDir: string, autostart: boolean, backend: string | undefined): string {
  if (process.env.ENVELOPE_NO_AGENT) return 'ENVELOPE_NO_AGENT is set: runs neither ask nor start one.'
  const obstacle = agentObstacle(dataDir)
  if (obstacle?.kind === 'windows') return 'The agent is not available on Windows yet.'
  if (!autostart) return '`envelope run` does not start one (autostart off); `envelope agent start` does.'
  if (backend !== undefined && backend !== 'keychain')
    return `This store's key is a ${backend === 'passphrase' ? 'passphrase' : 'key file'}: only \`envelope agent start\` starts one.`
  if (obstacle?.kind === 'readable-by-others') return `The data folder can be read by other users, so no agent serves it (chmod 700 ${dataDir}).`
  if (obstacle?.kind === 'path-too-long') return "The data folder's path is too long for the agent's socket: no agent serves it."
  return `\`envelope run\` starts one (autostart on): a run of an environment without providers that comes within ${DEFAULT_IDLE_MINUTES} min of another run.`
}

export async function agentStatusCommand(cli: Cli, opts: { output: string }): Promise<void> {
  const dataDir = resolveDataDir()
  const s = await agentStatus(dataDir)
  const store = await cli.store()
  const autostart = store.setting('agent.autostart')
  if (opts.output === 'json')
    cli.out(`${JSON.stringify(s ? { running: true, ...s, current: s.build === cli.build, autostart } : { running: false, dataDir, autostart }, null, 2)}\n`)
  else if (!s) {
    cli.out(`No agent serves ${dataDir}. ${whenRunStartsOne(dataDir, autostart, store.activeKeyInfo()?.backend)}\n`)
  } else {
    const current = s.build === cli.build ? '' : " (another build of envelope: it declines this one's requests; restart it)"
    cli.out(
      `Agent pid ${s.pid} serves ${s.dataDir} since ${s.started}${current}; ${s.served} run${s.served === 1 ? '' : 's'} served; stops after ${s.idleMinutes} min without a served run.\n`,
    )
  }
  if (!s) cli.exitCode = 1
}
