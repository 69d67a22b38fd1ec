/**
 * Crash safety and multi-process concurrency with real processes on a real SQLite file:
 * - a writer is killed with SIGKILL at random moments, several times: every save it acknowledged is there,
 *   the history has no holes, and PRAGMA integrity_check says ok;
 * - two writers save the same environment at once: conflicts are refused and retried, no save is lost.
 * Run under test/with-keyring.sh (the writers keep the KEK in the Secret Service).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { setTimeout as sleep } from 'node:timers/promises'
import { createServices } from '../../../electron/services/index.ts'

const WRITER = join(import.meta.dirname, 'writer.ts')
const ROTATOR = join(import.meta.dirname, 'rotator.ts')

interface Ack {
  revision: number
  label: string
  counter: number
}

function startWriter(dataDir: string, id: string, label: string, saves: number) {
  const child = spawn(process.execPath, [WRITER, dataDir, id, label, String(saves)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const acks: Ack[] = []
  let conflicts = 0
  let buf = ''
  let stderr = ''
  let ready = false
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const m = /^ack (\d+) (\S+) (\d+)$/.exec(line)
      if (m) acks.push({ revision: Number(m[1]), label: m[2]!, counter: Number(m[3]) })
      else if (line === 'conflict') conflicts++
      else if (line === 'ready') ready = true
    }
  })
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return { child, acks, exited, conflicts: () => conflicts, stderr: () => stderr, ready: () => ready }
}

async function until(cond: () => boolean, what: string, child: ChildProcess, stderr: () => string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (child.exitCode !== null) throw new Error(`writer exited early (${child.exitCode}) before ${what}: ${stderr()}`)
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${stderr()}`)
    await sleep(5)
  }
}

test('kill -9 at random moments: every acknowledged save survives, the store stays consistent', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-crash-'))
  const id = 'crash/target'
  const all: Ack[] = []
  const rounds = 6
  for (let round = 1; round <= rounds; round++) {
    const w = startWriter(dataDir, id, `r${round}`, 0)
    await until(() => w.acks.length >= 1, 'a first save', w.child, w.stderr)
    // random point: anywhere from mid-first-transaction to several saves later
    await sleep(Math.floor(Math.random() * 400))
    w.child.kill('SIGKILL')
    const ex = await w.exited
    assert.equal(ex.signal, 'SIGKILL', `round ${round}: writer died by SIGKILL (stderr: ${w.stderr()})`)
    all.push(...w.acks)
  }
  assert.ok(all.length >= rounds)

  const db = new DatabaseSync(join(dataDir, 'envelope.db'))
  assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok')
  assert.equal((db.prepare('PRAGMA foreign_key_check').all() as unknown[]).length, 0)
  db.close()

  const services = createServices({ dataDir, keys: { service: 'Envelope-test' } })
  const env = services.environments
  const revs = await env.listRevisions(id)
  const latest = revs[0]!.number
  // no holes: 1..latest, newest first
  assert.deepEqual(
    revs.map((r) => r.number),
    Array.from({ length: latest }, (_, i) => latest - i),
  )
  for (const a of all) {
    assert.ok(a.revision <= latest, `acknowledged revision ${a.revision} is present (latest ${latest})`)
    const def = await env.getDefinition(id, { version: a.revision, decrypt: true })
    assert.match(def.yaml, new RegExp(`writer: ${a.label}\\n  counter: ${a.counter}\\n`), `revision ${a.revision} holds what was acknowledged`)
    assert.match(def.yaml, new RegExp(`fn::secret: crash-secret-${a.label}-${a.counter}`))
  }
  console.log(`# ${rounds} kills, ${all.length} acknowledged saves, all present; latest revision ${latest}`)
  // the store keeps working after the crashes
  const next = await env.update(id, 'values:\n  after: crash\n', { baseRevision: latest })
  assert.equal(next.number, latest + 1)
  services.close()
})

test('two writer processes at once: conflicts are refused and retried, no update is lost', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-concurrent-'))
  const id = 'race/target'
  const perWriter = 12
  const a = startWriter(dataDir, id, 'A', perWriter)
  const b = startWriter(dataDir, id, 'B', perWriter)
  const [ea, eb] = await Promise.all([a.exited, b.exited])
  assert.equal(ea.code, 0, a.stderr())
  assert.equal(eb.code, 0, b.stderr())
  const acks = [...a.acks, ...b.acks]
  assert.equal(acks.length, 2 * perWriter)
  // every acknowledged save got its own revision: 2..(1 + total), revision 1 being the creation
  assert.deepEqual(
    acks.map((x) => x.revision).sort((x, y) => x - y),
    Array.from({ length: 2 * perWriter }, (_, i) => i + 2),
  )

  const services = createServices({ dataDir, keys: { service: 'Envelope-test' } })
  const env = services.environments
  const revs = await env.listRevisions(id)
  assert.equal(revs.length, 1 + 2 * perWriter, 'final revision count = creation + all successful saves')
  for (const x of acks) {
    const def = await env.getDefinition(id, { version: x.revision, decrypt: true })
    assert.match(def.yaml, new RegExp(`writer: ${x.label}\\n  counter: ${x.counter}\\n`))
  }
  const denied = (await env.audit({ target: id, limit: 10_000 })).filter((e) => e.action === 'update' && e.result === 'denied').length
  assert.equal(denied, a.conflicts() + b.conflicts(), 'each refused (stale) save is in the audit log')
  console.log(`# conflicts refused and retried: ${a.conflicts() + b.conflicts()}`)
  services.close()
})

test('kill -9 during KEK rotations: the store key is always one that opens every secret', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-crash-rotate-'))
  const keys = { service: 'Envelope-test' }
  const setup = createServices({ dataDir, keys })
  await setup.environments.create('app/a', { yaml: 'values:\n  s:\n    fn::secret: rotate-crash-a\n' })
  await setup.environments.create('app/b', { yaml: 'values:\n  s:\n    fn::secret: rotate-crash-b\n' })
  setup.close()
  const acked: string[] = []
  for (let round = 1; round <= 4; round++) {
    const child = spawn(process.execPath, [ROTATOR, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)))
    await until(
      () => /^ack /m.test(out),
      'a first rotation',
      child,
      () => err,
    )
    await sleep(Math.floor(Math.random() * 300))
    child.kill('SIGKILL')
    assert.equal(await exited, 'SIGKILL', err)
    for (const m of out.matchAll(/^ack (\w+)$/gm)) acked.push(m[1]!)
  }
  const services = createServices({ dataDir, keys })
  const env = services.environments
  const status = await env.keyStatus()
  assert.equal(status.available, true, status.message)
  // the active key is the last acknowledged one, or one committed just before the kill
  const db = new DatabaseSync(join(dataDir, 'envelope.db'))
  const activeCreated = (db.prepare('SELECT created FROM keks WHERE id = ?').get(status.keyId!) as { created: string }).created
  const lastAckCreated = (db.prepare('SELECT created FROM keks WHERE id = ?').get(acked.at(-1)!) as { created: string }).created
  assert.ok(activeCreated >= lastAckCreated, 'no acknowledged rotation was undone')
  assert.equal((db.prepare('SELECT count(*) AS n FROM keks WHERE retired IS NULL').get() as { n: number }).n, 1, 'exactly one active key')
  assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok')
  db.close()
  for (const [id, s] of [
    ['app/a', 'rotate-crash-a'],
    ['app/b', 'rotate-crash-b'],
  ] as const) {
    const def = await env.getDefinition(id, { decrypt: true })
    assert.match(def.yaml, new RegExp(`fn::secret: ${s}`))
  }
  console.log(`# rotations acknowledged before the kills: ${acked.length}`)
  services.close()
})

test('a writer blocked past the busy timeout gets a clear error, and nothing is half-written', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-busy-'))
  const { EnvironmentStore } = await import('../../../electron/services/store/environment-store.ts')
  const keys = { service: 'Envelope-test' }
  const store = new EnvironmentStore({ dataDir, keys, busyTimeoutMs: 200 })
  await store.create('app/busy')
  const blocker = new DatabaseSync(join(dataDir, 'envelope.db'))
  blocker.exec('BEGIN IMMEDIATE') // another process holding the write lock
  await assert.rejects(
    store.setTag('app/busy', 'k', 'v'),
    (e: unknown) => e instanceof Error && /the store is busy/.test(e.message) && (e as { code?: string }).code === 'io',
  )
  blocker.exec('ROLLBACK')
  blocker.close()
  assert.deepEqual(await store.getTags('app/busy'), {})
  await store.setTag('app/busy', 'k', 'v')
  assert.deepEqual(await store.getTags('app/busy'), { k: 'v' })
  store.close()
})
