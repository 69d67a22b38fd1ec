/**
 * The Envelope agent (`envelope agent start`): a background process of the user's that keeps the store
 * open with its key unlocked, so `envelope run` skips what a fresh process pays before it can start the
 * command (loading crypto, SQLite and the keychain module, the keychain's D-Bus round trips, opening the
 * store). Like gpg-agent, it is per user and per data folder, ends after a period without requests, and
 * is started on demand: by `envelope agent start`, or by `envelope run` itself when the store's key is in
 * the OS keychain and runs are frequent (`auto`; off with `envelope agent autostart off` or
 * ENVELOPE_NO_AGENT=1; see the CLI's agentAutostart).
 *
 * Trust: the socket is `<data folder>/agent.sock` (mode 0600 in a folder that must be 0700); whoever can
 * use it could read the store's folder and ask the unlocked keychain for its key anyway. That is why
 * `envelope run` starts one by itself only for a keychain key: a passphrase is asked of every process
 * unless the user starts an agent. It serves one store only: every request names its store (id + canonical
 * data folder, ./identity.ts) and one for another store is refused, so a socket reached through a symlink
 * or a hard link from another data folder serves nothing. A keychain key is kept only as long as the D-Bus
 * session whose keychain gave it (./session-bus.ts). The agent stops when that session ends, when the
 * store's active key changes (a rotation, a switch to a passphrase), when its socket is removed or
 * replaced, when its store file is replaced, on `agent stop`, and when idle.
 * Its start and stop are audited (`agent.start` / `agent.stop`).
 * Semantics: the agent serves only what a local open would give without anything that depends on the
 * asking process: environments that evaluate without providers (`fn::open` / `fn::rotate` run in the
 * caller, with its environment and working directory) and without any diagnostic. Everything else, and
 * any request from another build of the CLI, is declined, and the caller opens the environment itself.
 * Every request is audited like a local `run` (open + run, `detail.agent: true`).
 */
import { chmodSync, lstatSync, renameSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { UserError } from '../../../shared/errors.ts'
import { planRun } from '../../../shared/domain/run-plan.ts'
import { createServices, type KeyConfig, type Services } from '../index.ts'
import { storeFile } from '../paths.ts'
import { agentObstacle, servesStore } from './client.ts'
import { isSocketFile, sameStore, storeIdentity, type StoreIdentity } from './identity.ts'
import { AGENT_PROTOCOL, agentRequest, agentSocketPath, agentStartingPath, MAX_MESSAGE_BYTES, WRONG_STORE } from './protocol.ts'
import type { AgentRequest, AgentStatus, Declined, RunGranted } from './protocol.ts'
import { watchSessionBus, type SessionWatch } from './session-bus.ts'

/** a connection has this long to send its request (the reply follows at once) */
const REQUEST_TIMEOUT_MS = 30_000

export interface AgentOptions {
  dataDir: string
  /** the CLI build serving (requests from other builds are declined) */
  build: string
  /** exit after this many minutes without a served run */
  idleMinutes: number
  /** where to note what happens (never secrets) */
  log?: (line: string) => void
  /** key backend options (default: as the CLI, keychain or ENVELOPE_PASSPHRASE / ENVELOPE_KEY_FILE) */
  keys?: KeyConfig
  /** started by `envelope run` (not by `agent start`): only for a store whose key is in the keychain */
  auto?: boolean
  /** how often to check that the socket and the store file are still ours (default 5 s) */
  watchMs?: number
}

export interface RunningAgent {
  socketPath: string
  /** resolves once the agent has stopped (idle, `agent stop`, close()) */
  done: Promise<void>
  close(reason?: string): Promise<void>
}

/**
 * Checks that an agent may serve from `dataDir` and that none is serving its store yet; removes what is at
 * agent.sock otherwise: a stale socket, a symlink or hard link to another store's agent, anything not a socket.
 */
async function prepareSocket(dataDir: string, store: StoreIdentity, log: (line: string) => void): Promise<string> {
  const obstacle = agentObstacle(dataDir)
  if (obstacle?.kind === 'windows') throw new UserError('invalid_input', 'the agent is not available on Windows yet', { hint: 'envelope run works without it' })
  if (obstacle?.kind === 'path-too-long') {
    throw new UserError('invalid_input', `the data folder's path is too long for the agent's socket (${obstacle.socketPath})`, {
      hint: 'use a shorter ENVELOPE_DATA_DIR',
    })
  }
  if (obstacle?.kind === 'readable-by-others') {
    throw new UserError(
      'forbidden',
      `the data folder ${dataDir} is readable by other users (mode ${obstacle.mode.toString(8)}): the agent would serve them too`,
      {
        hint: `chmod 700 ${dataDir}`,
      },
    )
  }
  const socketPath = agentSocketPath(dataDir)
  const present = (() => {
    try {
      lstatSync(socketPath)
      return true
    } catch {
      return false
    }
  })()
  if (!present) return socketPath
  if (!isSocketFile(socketPath)) {
    log(`replaced ${socketPath}: it was not a socket (a symlink?)`)
    rmSync(socketPath, { force: true })
    return socketPath
  }
  try {
    const s = await agentRequest<AgentStatus | Declined>(socketPath, { v: AGENT_PROTOCOL, op: 'status', store }, 2000)
    if (s.ok ? !servesStore(s, store) : s.reason === WRONG_STORE) {
      // (a hard link to another store's socket: removing the link leaves that agent alone)
      log(`replaced ${socketPath}: the agent answering there serves another store`)
      rmSync(socketPath, { force: true })
      return socketPath
    }
    throw new UserError('already_exists', `an agent is already serving ${dataDir}${s.ok ? ` (pid ${s.pid})` : ''}`, {
      hint: 'envelope agent status / envelope agent stop',
    })
  } catch (err) {
    if (err instanceof UserError) throw err
    rmSync(socketPath, { force: true }) // nobody answers: a socket left by an agent that was killed
  }
  return socketPath
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log ?? (() => {})
  const services: Services = createServices({ dataDir: opts.dataDir, providers: null, ...(opts.keys ? { keys: opts.keys } : {}) })
  let server: Server | undefined
  // undone when the start fails after the socket is in place
  let undo = (): void => {}
  let bus: SessionWatch | undefined
  try {
    // the store it serves (open now: it has its id), and the file holding it
    const store = storeIdentity(services.dataDir)
    if (!store) throw new UserError('io', `the store in ${services.dataDir} cannot be read`)
    const storeStat = statSync(storeFile(store.dataDir))
    const socketPath = await prepareSocket(services.dataDir, store, log)
    // the key must be reachable now (the keychain may prompt once); later requests reuse it
    const key = await services.environments.keyStatus()
    if (!key.available) throw new UserError('keychain_unavailable', `the store key is not reachable: ${key.message ?? key.description}`)
    // the key it unlocked: after a key rotation (or a switch to a passphrase) it stops serving
    const keyId = services.environments.activeKeyInfo()?.id
    if (opts.auto && key.backend !== 'keychain') {
      throw new UserError('invalid_input', `only a store whose key is in the keychain starts an agent by itself (this one uses a ${key.backend})`, {
        hint: 'envelope agent start',
      })
    }
    if (key.backend === 'keychain' && process.platform === 'linux') {
      // the key came from the Secret Service of this D-Bus session: kept no longer than that session lives
      try {
        bus = await watchSessionBus()
      } catch (err) {
        throw new UserError(
          'keychain_unavailable',
          `the agent keeps a keychain key only while the D-Bus session that unlocked it lives, and cannot watch it: ${(err as Error).message}`,
          { hint: 'envelope run works without the agent' },
        )
      }
    }
    const started = new Date().toISOString()
    let served = 0
    let idle: NodeJS.Timeout | undefined
    let resolveDone!: () => void
    const done = new Promise<void>((r) => (resolveDone = r))
    let closing: Promise<void> | undefined
    const connections = new Set<Socket>()
    let socketIno = 0 // once it is in place
    const close = (reason = 'stopped'): Promise<void> =>
      (closing ??= new Promise<void>((resolve) => {
        clearTimeout(idle)
        clearInterval(watch)
        bus?.close()
        server!.close(() => resolve())
        // a connection that never finishes its request must not keep the agent (and its keys) alive
        for (const c of connections) c.destroy()
      }).finally(() => {
        // only our own socket (a folder removed and made again may hold another agent's)
        if (ownSocket()) rmSync(socketPath, { force: true })
        // (the data folder may be gone: that is one reason to stop)
        services.environments.recordAudit({ action: 'agent.stop', target: 'agent', detail: { pid: process.pid, served, reason } }).catch(() => undefined)
        services.close()
        log(`agent stopped (${reason})`)
        resolveDone()
      }))
    const ownSocket = (): boolean => {
      try {
        return lstatSync(socketPath).ino === socketIno
      } catch {
        return false
      }
    }
    // a store file replaced under it (a backup restored, another store copied in): what it has open is not
    // what the folder holds any more
    const ownStoreFile = (): boolean => {
      try {
        const st = statSync(storeFile(store.dataDir))
        return st.ino === storeStat.ino && st.dev === storeStat.dev
      } catch {
        return false
      }
    }
    const touch = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => void close(`no served run for ${opts.idleMinutes} min`), opts.idleMinutes * 60_000)
      idle.unref?.()
    }

    const refuse = (claimed: unknown): Declined => {
      const where = typeof claimed === 'object' && claimed !== null ? (claimed as { dataDir?: unknown }).dataDir : undefined
      log(`refused a request for another store${typeof where === 'string' ? ` (${JSON.stringify(where.slice(0, 200))})` : ' (none named)'}`)
      return { ok: false, reason: WRONG_STORE }
    }

    const run = async (req: AgentRequest & { op: 'run' }): Promise<RunGranted | Declined> => {
      if (req.build !== opts.build) return { ok: false, reason: 'another build of envelope is serving' }
      if (!sameStore(req.store, store)) return refuse(req.store)
      if (!ownStoreFile()) {
        setImmediate(() => void close('its store file was replaced'))
        return { ok: false, reason: 'the store file was replaced' }
      }
      if (services.environments.activeKeyInfo()?.id !== keyId) {
        setImmediate(() => void close('the store key changed'))
        return { ok: false, reason: 'the store key changed' }
      }
      let res
      try {
        res = await services.environments.open(req.ref)
      } catch (err) {
        // not found, bad reference, key problems…: the caller reports it the usual way
        return { ok: false, reason: err instanceof UserError ? err.code : 'error' }
      }
      // stricter than a local run: warnings too are declined (the caller prints them when it opens the environment)
      if (res.diagnostics.length > 0 || !res.value) return { ok: false, reason: 'diagnostics' }
      // (the arguments stay with the caller: a request with `${…}` in them is never sent, see agentMayServe)
      const plan = planRun(req.ref, res, [req.command], { mask: req.mask, agent: true })
      await services.environments.recordAudit(plan.audit)
      served++
      touch()
      return {
        ok: true,
        store,
        environment: plan.environment,
        revision: plan.revision,
        variables: plan.variables,
        files: plan.files,
        secrets: plan.secrets,
      }
    }

    const handle = async (line: string): Promise<unknown> => {
      let req: AgentRequest
      try {
        req = JSON.parse(line) as AgentRequest
      } catch {
        return { ok: false, reason: 'bad request' }
      }
      if (typeof req !== 'object' || req === null) return { ok: false, reason: 'bad request' }
      if (req.v !== AGENT_PROTOCOL) return { ok: false, reason: `protocol ${String(req.v)} (this agent speaks ${AGENT_PROTOCOL})` }
      if ((req.op === 'status' || req.op === 'stop') && !sameStore(req.store, store)) return refuse(req.store)
      if (req.op === 'status')
        return {
          ok: true,
          pid: process.pid,
          build: opts.build,
          dataDir: services.dataDir,
          storeId: store.id,
          started,
          served,
          idleMinutes: opts.idleMinutes,
        } satisfies AgentStatus
      if (req.op === 'stop') {
        setImmediate(() => void close('asked to stop'))
        return { ok: true }
      }
      if (req.op === 'run' && typeof req.ref === 'string' && typeof req.command === 'string' && typeof req.build === 'string') return run(req)
      return { ok: false, reason: 'bad request' }
    }

    // only a served run keeps the agent: one that only declines (another build's runs after an upgrade,
    // environments with providers) or is only asked for its status stops when the idle time is over
    server = createServer((conn: Socket) => {
      connections.add(conn)
      conn.on('close', () => connections.delete(conn))
      conn.setTimeout(REQUEST_TIMEOUT_MS, () => conn.destroy())
      let buf = ''
      conn.setEncoding('utf8')
      conn.on('error', () => conn.destroy())
      conn.on('data', (d: string) => {
        buf += d
        if (buf.length > MAX_MESSAGE_BYTES) {
          conn.destroy()
          return
        }
        const nl = buf.indexOf('\n')
        if (nl < 0) return
        conn.removeAllListeners('data')
        handle(buf.slice(0, nl)).then(
          (reply) => conn.end(`${JSON.stringify(reply)}\n`),
          (err: unknown) => {
            log(`request failed: ${err instanceof Error ? err.message : String(err)}`)
            conn.end(`${JSON.stringify({ ok: false, reason: 'error' })}\n`)
          },
        )
      })
    })
    // bound under a name of its own, then renamed into place: closing the server unlinks the name it was
    // bound to (libuv), which must not remove a socket another agent has put at agent.sock meanwhile
    const bound = `${socketPath}.${process.pid}`
    rmSync(bound, { force: true })
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(bound, () => resolve())
    })
    chmodSync(bound, 0o600)
    renameSync(bound, socketPath)
    socketIno = lstatSync(socketPath).ino
    rmSync(agentStartingPath(services.dataDir), { force: true }) // (after the socket is in place: see the CLI's agentAutostart)
    // the socket removed or replaced (its data folder deleted, another agent took over): nothing can reach
    // this agent any more, so it stops rather than keep the key until the idle timeout; so does one whose
    // store file was replaced
    const watch = setInterval(
      () => void (ownSocket() ? ownStoreFile() || close('its store file was replaced') : close('its socket is gone')),
      opts.watchMs ?? 5000,
    )
    watch.unref()
    void bus?.ended.then((why) => close(why))
    undo = () => {
      clearInterval(watch)
      clearTimeout(idle)
      if (ownSocket()) rmSync(socketPath, { force: true })
    }
    touch()
    await services.environments.recordAudit({
      action: 'agent.start',
      target: 'agent',
      detail: { pid: process.pid, idleMinutes: opts.idleMinutes, auto: opts.auto === true },
    })
    log(
      `agent serving ${services.dataDir} on ${socketPath} (pid ${process.pid}, idle timeout ${opts.idleMinutes} min${opts.auto ? ', started by envelope run' : ''}${bus ? `, until the D-Bus session ${bus.address.split(',')[0]} ends` : ''})`,
    )
    return { socketPath, done, close }
  } catch (err) {
    bus?.close()
    server?.close()
    undo()
    services.close()
    throw err
  }
}
