/**
 * `envelope agent …` (electron/services/agent): `start` runs `agent serve` detached, logging to
 * `<data folder>/agent.log`, and returns once the agent answers; `stop` and `status` talk to its socket.
 */
import { UserError } from '../../../shared/errors.ts'
import { AGENT_PROTOCOL, agentRequest, agentSocketPath, type AgentStatus } from '../../services/agent/protocol.ts'
import { resolveDataDir } from '../../services/paths.ts'
import type { Cli } from '../context.ts'

function idleMinutes(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > 24 * 60) throw new UserError('invalid_input', `--idle must be a whole number of minutes from 1 to 1440, got ${JSON.stringify(text)}`)
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

async function statusOf(dataDir: string): Promise<AgentStatus | undefined> {
  try {
    const s = await agentRequest<AgentStatus>(agentSocketPath(dataDir), { v: AGENT_PROTOCOL, op: 'status' }, 5000)
    return s.ok ? s : undefined
  } catch {
    return undefined
  }
}

export async function agentStartCommand(cli: Cli, opts: { idle: string }): Promise<void> {
  const idle = idleMinutes(opts.idle)
  const build = mustBeBuilt(cli)
  const dataDir = resolveDataDir()
  const running = await statusOf(dataDir)
  if (running && running.build === build) {
    cli.out(`An agent already serves ${dataDir} (pid ${running.pid}).\n`)
    return
  }
  if (running) {
    // started by another build of envelope (an upgrade, a rebuild): it would decline this build's runs
    await agentRequest(agentSocketPath(dataDir), { v: AGENT_PROTOCOL, op: 'stop' }, 5000)
    const { existsSync } = await import('node:fs')
    for (const end = Date.now() + 10_000; existsSync(agentSocketPath(dataDir)) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25))
    cli.err(`Stopped the agent of another envelope build (pid ${running.pid}).\n`)
  }
  const { mkdirSync, openSync, closeSync, readFileSync, statSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { spawn } = await import('node:child_process')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const logFile = join(dataDir, 'agent.log')
  const logStart = (() => {
    try {
      return statSync(logFile).size
    } catch {
      return 0
    }
  })()
  const log = openSync(logFile, 'a', 0o600)
  const child = spawn(process.execPath, [process.argv[1]!, 'agent', 'serve', '--idle', String(idle)], { detached: true, stdio: ['ignore', 'ignore', log] })
  closeSync(log)
  let exited: number | null | undefined
  child.once('exit', (code) => (exited = code))
  child.unref()
  const deadline = Date.now() + 60_000 // the keychain may ask to be unlocked first
  for (;;) {
    const s = await statusOf(dataDir)
    if (s && s.pid === child.pid) {
      cli.out(`Agent started (pid ${s.pid}) for ${dataDir}; it stops after ${idle} min without a request.\n`)
      cli.err('`envelope run` now takes the environments from it; `envelope agent stop` ends it.\n')
      return
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) child.kill()
      // what `agent serve` reported (`error: …` / `hint: …` lines, see fast.ts reportError)
      const lines = readFileSync(logFile, 'utf8').slice(logStart).split('\n')
      const why = lines.filter((l) => l.startsWith('error: ')).pop()?.slice('error: '.length)
      const hint = lines.filter((l) => l.startsWith('hint: ')).pop()?.slice('hint: '.length)
      throw new UserError('io', `the agent did not start${why ? `: ${why}` : ''}`, { hint: hint ? `${hint} (log: ${logFile})` : `see ${logFile}` })
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function agentServeCommand(cli: Cli, opts: { idle: string }): Promise<void> {
  const idle = idleMinutes(opts.idle)
  const build = mustBeBuilt(cli)
  const { startAgent } = await import('../../services/agent/server.ts')
  const stamp = (line: string): void => cli.err(`${new Date().toISOString()} ${line}\n`)
  const agent = await startAgent({ dataDir: resolveDataDir(), build, idleMinutes: idle, log: stamp })
  const stop = (): void => void agent.close()
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.once('SIGHUP', stop)
  await agent.done
}

export async function agentStopCommand(cli: Cli): Promise<void> {
  const dataDir = resolveDataDir()
  const s = await statusOf(dataDir)
  if (!s) {
    cli.err(`No agent serves ${dataDir}.\n`)
    return
  }
  await agentRequest(agentSocketPath(dataDir), { v: AGENT_PROTOCOL, op: 'stop' }, 5000)
  cli.out(`Agent stopped (pid ${s.pid}).\n`)
}

export async function agentStatusCommand(cli: Cli, opts: { output: string }): Promise<void> {
  const dataDir = resolveDataDir()
  const s = await statusOf(dataDir)
  if (opts.output === 'json') cli.out(`${JSON.stringify(s ? { running: true, ...s, current: s.build === cli.build } : { running: false, dataDir }, null, 2)}\n`)
  else if (!s) cli.out(`No agent serves ${dataDir}.\n`)
  else {
    const current = s.build === cli.build ? '' : ' (another build of envelope: it declines this one\'s requests; restart it)'
    cli.out(`Agent pid ${s.pid} serves ${s.dataDir} since ${s.started}${current}; ${s.served} run${s.served === 1 ? '' : 's'} served; stops after ${s.idleMinutes} min without a request.\n`)
  }
  if (!s) cli.exitCode = 1
}
