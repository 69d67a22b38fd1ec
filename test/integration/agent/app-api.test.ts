/**
 * The `agent.*` channels of the IPC contract (Settings → Command-line agent) through the real dispatcher
 * and context (electron/app-api/context.ts) over a real store, with the agent of that data folder started in
 * process (run with test/with-keyring.sh for the real Secret Service; else a passphrase key): the status
 * with and without an agent, autostart persisted as a store setting (audited as `settings`) and turning it
 * off stopping a running agent, Stop, a key rotation stopping the agent that held the old key, request
 * validation, and a context without agent controls.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AgentInfo } from '../../../shared/ipc.ts'
import { createContext } from '../../../electron/app-api/context.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import type { Dispatcher, HandlerContext } from '../../../electron/app-api/handlers.ts'
import { createServices } from '../../../electron/services/index.ts'
import type { Services } from '../../../electron/services/index.ts'
import { agentSocketPath } from '../../../electron/services/agent/protocol.ts'
import { startAgent } from '../../../electron/services/agent/server.ts'
import type { RunningAgent } from '../../../electron/services/agent/server.ts'

if (!process.env.ENVELOPE_IN_KEYRING && !process.env.ENVELOPE_KEY_FILE) process.env.ENVELOPE_PASSPHRASE ??= 'bridge-agent-test'
const backend = process.env.ENVELOPE_IN_KEYRING ? 'keychain' : process.env.ENVELOPE_KEY_FILE ? 'keyfile' : 'passphrase'

let dir: string
let dataDir: string
let ctx: HandlerContext
let services: Services
let d: Dispatcher

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-bridge-agent-'))
  dataDir = join(dir, 'data')
  ;({ ctx, services } = createContext({ mode: 'web', version: 'test', dataDir }))
  d = createDispatcher(ctx)
})
after(async () => {
  d.close()
  services.close()
  await rm(dir, { recursive: true, force: true })
})

async function call(channel: string, req: unknown): Promise<AgentInfo> {
  const r = await d.dispatch(channel, req)
  if (!r.ok) throw new Error(`${channel}: ${r.error.message}`)
  return r.result as AgentInfo
}

/** the agent of the data folder, in this process (as `envelope agent serve` runs it), with the context's key settings */
const serve = () => startAgent({ dataDir, build: 'b1', idleMinutes: 5 })

/** resolves once `agent` has stopped; fails after 10 s (it would otherwise run on for its idle time) */
async function stopped(agent: RunningAgent): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the agent is still running')), 10_000)))
  try {
    await Promise.race([agent.done, late])
  } finally {
    clearTimeout(timer)
  }
}

test('without an agent: not running, autostart on by default, the key backend once the store has a key', async () => {
  assert.deepEqual(await call('agent.status', {}), { running: false, autostart: true })
  await services.environments.create('app/a', { yaml: 'values:\n  pw:\n    fn::secret: s3cret\n' })
  assert.deepEqual(await call('agent.status', {}), { running: false, autostart: true, keyBackend: backend })
})

test('autostart off and on is a store setting (the CLI reads the same one), audited as `settings`', async () => {
  assert.equal((await call('agent.setAutostart', { autostart: false })).autostart, false)
  const other = createServices({ dataDir })
  try {
    assert.equal(other.environments.setting('agent.autostart'), false)
    assert.equal((await call('agent.status', {})).autostart, false)
    assert.equal((await call('agent.setAutostart', { autostart: true })).autostart, true)
    assert.equal(other.environments.setting('agent.autostart'), true)
    const audited = (await other.environments.audit({ action: 'settings', limit: 10 })).map((e) => [e.target, e.detail])
    assert.deepEqual(audited, [
      ['store', { 'agent.autostart': true }],
      ['store', { 'agent.autostart': false }],
    ])
  } finally {
    other.close()
  }
})

test('a running agent: its status, Stop stops it; autostart off stops it too', { timeout: 60_000 }, async () => {
  const agent = await serve()
  try {
    const s = await call('agent.status', {})
    assert.equal(s.running, true)
    assert.equal(s.pid, process.pid)
    assert.equal(s.served, 0)
    assert.equal(s.idleMinutes, 5)
    assert.ok(s.started && !Number.isNaN(Date.parse(s.started)), s.started)
    assert.deepEqual(await call('agent.stop', {}), { running: false, autostart: true, keyBackend: backend })
    await stopped(agent)
    assert.equal(existsSync(agentSocketPath(dataDir)), false)
    assert.deepEqual(await call('agent.stop', {}), { running: false, autostart: true, keyBackend: backend }, 'stopping none is no error')
  } finally {
    await agent.close()
  }

  const again = await serve()
  try {
    assert.equal((await call('agent.status', {})).running, true)
    assert.deepEqual(await call('agent.setAutostart', { autostart: false }), { running: false, autostart: false, keyBackend: backend })
    await stopped(again)
  } finally {
    await again.close()
    await call('agent.setAutostart', { autostart: true })
  }
})

test('a key rotation in the app stops the agent holding the old key', { timeout: 60_000 }, async () => {
  const agent = await serve()
  try {
    assert.equal((await call('agent.status', {})).running, true)
    const r = await d.dispatch('key.rotate', {})
    assert.equal(r.ok, true)
    await stopped(agent)
    assert.equal((await call('agent.status', {})).running, false)
  } finally {
    await agent.close()
  }
})

/** the error `dispatcher` answers to `req` on `channel` (fails when it succeeds) */
async function refusal(dispatcher: Dispatcher, channel: string, req: unknown) {
  const r = await dispatcher.dispatch(channel, req)
  if (r.ok) assert.fail(`${channel} accepted ${JSON.stringify(req)}`)
  return r.error
}

test('requests are validated; without agent controls the channels say so', async () => {
  const bad: [string, unknown, RegExp][] = [
    ['agent.status', { x: 1 }, /invalid request to agent\.status/],
    ['agent.stop', { force: true }, /invalid request to agent\.stop/],
    ['agent.setAutostart', {}, /autostart/],
    ['agent.setAutostart', { autostart: 'off' }, /autostart/],
    ['agent.setAutostart', { autostart: false, extra: 1 }, /extra|unrecognized/i],
  ]
  for (const [channel, req, message] of bad) {
    const e = await refusal(d, channel, req)
    assert.deepEqual([e.code, message.test(e.message)], ['invalid_input', true], e.message)
  }
  assert.equal(services.environments.setting('agent.autostart'), true, 'a rejected request changed nothing')

  const { agent: _, ...withoutAgent } = ctx
  const bare = createDispatcher(withoutAgent)
  try {
    for (const channel of ['agent.status', 'agent.setAutostart', 'agent.stop']) {
      const e = await refusal(bare, channel, channel === 'agent.setAutostart' ? { autostart: true } : {})
      assert.match(e.message, /the command-line agent is not available here/)
    }
  } finally {
    bare.close()
  }
})
