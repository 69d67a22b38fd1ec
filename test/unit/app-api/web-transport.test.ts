/**
 * The loopback web transport over the real services (a real SQLite store in a temp folder; the real keychain
 * under test/with-keyring.sh, else a passphrase key): token, Host/Origin checks, content type, request
 * validation, static files without traversal, and the contract end to end (create → check → export).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createContext } from '../../../electron/app-api/context.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import { startWebTransport } from '../../../electron/app-api/web-transport.ts'
import type { WebTransport } from '../../../electron/app-api/web-transport.ts'

// the example plugin rotator (examples/provider-example) for the env.rotate test
process.env.ENVELOPE_PLUGINS_PATH = join(import.meta.dirname, '../../../examples/provider-example')
if (!process.env.ENVELOPE_IN_KEYRING && !process.env.ENVELOPE_KEY_FILE) process.env.ENVELOPE_PASSPHRASE ??= 'bridge-test passphrase' // (12 characters at least for a new store)

let dir: string
let bridge: WebTransport
let closeServices: () => void

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-bridge-'))
  const staticDir = join(dir, 'static')
  await mkdir(staticDir)
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Envelope</title>')
  await writeFile(join(dir, 'secret.txt'), 'outside the static folder')
  const { ctx, services } = createContext({ mode: 'web', version: 'test', dataDir: join(dir, 'data') })
  closeServices = () => services.close()
  bridge = await startWebTransport({ dispatcher: createDispatcher(ctx), staticDir })
})

after(async () => {
  await bridge.close()
  closeServices()
  await rm(dir, { recursive: true, force: true })
})

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: bridge.port, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

const rpcHeaders = (token = bridge.token): Record<string, string> => ({ 'content-type': 'application/json', 'x-envelope-token': token })

async function rpc(
  channel: string,
  body: unknown,
  headers = rpcHeaders(),
): Promise<{ status: number; json: { ok: boolean; result?: unknown; error?: { code?: string; message: string } } }> {
  const r = await raw('POST', `/rpc/${channel}`, headers, JSON.stringify(body))
  return { status: r.status, json: JSON.parse(r.body) as { ok: boolean; result?: unknown; error?: { code?: string; message: string } } }
}

test('listens on 127.0.0.1 with a random port and a 256-bit token carried in the URL fragment', () => {
  assert.match(bridge.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  assert.ok(bridge.port > 0)
  assert.equal(Buffer.from(bridge.token, 'base64url').length, 32)
  assert.equal(bridge.openUrl, `${bridge.url}#token=${bridge.token}`)
})

test('RPC without the token, or with a wrong one, is refused with 401 and nothing runs', async () => {
  const none = await rpc('env.create', { id: 'p/none' }, { 'content-type': 'application/json' })
  assert.equal(none.status, 401)
  assert.equal(none.json.error?.code, 'unauthorized')
  const wrong = await rpc('env.create', { id: 'p/wrong' }, rpcHeaders(bridge.token.slice(0, -1) + (bridge.token.endsWith('A') ? 'B' : 'A')))
  assert.equal(wrong.status, 401)
  const list = await rpc('env.list', {})
  assert.equal(list.status, 200)
  assert.deepEqual(
    (list.json.result as { id: string }[]).map((e) => e.id).filter((id) => id === 'p/none' || id === 'p/wrong'),
    [],
  )
})

test('a foreign Host header (DNS rebinding) and a cross-origin Origin are refused', async () => {
  const host = await raw('POST', '/rpc/env.list', { ...rpcHeaders(), host: 'evil.example:80' }, '{}')
  assert.equal(host.status, 421)
  const origin = await raw('POST', '/rpc/env.list', { ...rpcHeaders(), origin: 'http://evil.example' }, '{}')
  assert.equal(origin.status, 403)
  const same = await raw('POST', '/rpc/env.list', { ...rpcHeaders(), origin: `http://127.0.0.1:${bridge.port}` }, '{}')
  assert.equal(same.status, 200)
})

test('only JSON POST bodies are accepted (no simple cross-site form posts)', async () => {
  const form = await raw('POST', '/rpc/env.list', { 'content-type': 'text/plain', 'x-envelope-token': bridge.token }, '{}')
  assert.equal(form.status, 415)
  const get = await raw('GET', '/rpc/env.list', { 'x-envelope-token': bridge.token })
  assert.equal(get.status, 405)
  const bad = await raw('POST', '/rpc/env.list', rpcHeaders(), '{not json')
  assert.equal(bad.status, 400)
})

test('every request is validated: a bad field is a 400 naming the channel and the field; unknown channels are 404', async () => {
  const r = await rpc('env.create', { id: '../etc/passwd' })
  assert.equal(r.status, 400)
  assert.equal(r.json.error?.code, 'invalid_input')
  assert.match(r.json.error?.message ?? '', /env\.create: id:/)
  const extra = await rpc('env.list', { sneaky: true })
  assert.equal(extra.status, 400)
  const unknown = await rpc('fs.readFile', { path: '/etc/passwd' })
  assert.equal(unknown.status, 404)
})

test('static files are served with a CSP; paths cannot escape the static folder', async () => {
  const index = await raw('GET', '/', {})
  assert.equal(index.status, 200)
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/)
  assert.match(String(index.headers['content-security-policy']), /worker-src 'self' blob:/)
  // dot segments are normalised away by the URL parser; an encoded slash survives it and is refused
  const dots = await raw('GET', '/%2e%2e/secret.txt', {})
  assert.notEqual(dots.body, 'outside the static folder')
  const slash = await raw('GET', '/..%2fsecret.txt', {})
  assert.notEqual(slash.body, 'outside the static folder')
  assert.equal(slash.status, 403)
  const missing = await raw('GET', '/assets/nope.js', {})
  assert.equal(missing.status, 404)
})

test('the contract end to end: create, live check with a ranged diagnostic, save conflict, export with secrets masked', async () => {
  const created = await rpc('env.create', { id: 'shop/dev', yaml: 'values:\n  host: example.com\n  environmentVariables:\n    HOST: ${host}\n' })
  assert.equal(created.status, 200, JSON.stringify(created.json))
  const check = await rpc('env.check', { id: 'shop/dev', yaml: 'values:\n  host: example.com\n  url: https://${hots}\n' })
  const res = check.json.result as { diagnostics: { summary: string; range?: { begin: { line: number; column: number } } }[] }
  assert.equal(res.diagnostics.length, 1)
  assert.equal(res.diagnostics[0]?.range?.begin.line, 3)
  const saved = await rpc('env.update', {
    id: 'shop/dev',
    yaml: 'values:\n  host: a.example\n  pw:\n    fn::secret: hunter22\n  environmentVariables:\n    HOST: ${host}\n    PW: ${pw}\n',
    baseRevision: 1,
  })
  assert.equal(saved.status, 200, JSON.stringify(saved.json))
  const stale = await rpc('env.update', { id: 'shop/dev', yaml: 'values: {}\n', baseRevision: 1 })
  assert.equal(stale.status, 409)
  assert.equal(stale.json.error?.code, 'conflict')
  const masked = await rpc('export.render', { id: 'shop/dev', format: 'dotenv', reveal: false })
  const m = masked.json.result as { content: string; containsSecrets: boolean; secretCount: number }
  assert.equal(m.containsSecrets, false)
  assert.equal(m.secretCount, 1)
  assert.doesNotMatch(m.content, /hunter22/)
  const revealed = await rpc('export.render', { id: 'shop/dev', format: 'dotenv', reveal: true })
  const v = revealed.json.result as { content: string; containsSecrets: boolean }
  assert.equal(v.containsSecrets, true)
  assert.equal(v.content, "HOST='a.example'\nPW='hunter22'\n")
})

test('env.rotate: runs the rotator, saves the new state as a revision, reports per path; bad paths are refused', async () => {
  const yaml = 'values:\n  key:\n    fn::rotate::example:\n      inputs: {prefix: "tok_", length: 16}\n  plain: x\n'
  const created = await rpc('env.create', { id: 'rot/app', yaml })
  assert.equal(created.status, 200)
  const r = await rpc('env.rotate', { id: 'rot/app' })
  assert.equal(r.status, 200, JSON.stringify(r.json))
  const res = r.json.result as { status: string; preRotationRevision: number; postRotationRevision?: number; rotations: { path: string; status: string }[] }
  assert.equal(res.status, 'succeeded')
  assert.equal(res.preRotationRevision, 1)
  assert.equal(res.postRotationRevision, 2)
  assert.deepEqual(
    res.rotations.map((x) => [x.path, x.status]),
    [['values.key', 'succeeded']],
  )
  // the new revision holds the state, encrypted (the token is a secret)
  const def = await rpc('env.get', { id: 'rot/app' })
  const stored = def.json.result as { yaml: string; revision: number }
  assert.equal(stored.revision, 2)
  assert.match(stored.yaml, /state:/)
  assert.match(stored.yaml, /ciphertext:/)
  assert.doesNotMatch(stored.yaml, /tok_[A-Za-z0-9_-]{8,}/)
  // the response never carries the credentials either
  assert.doesNotMatch(JSON.stringify(r.json), /tok_[A-Za-z0-9_-]{8,}/)

  const bad = await rpc('env.rotate', { id: 'rot/app', paths: ['has space'] })
  assert.equal(bad.status, 400)
  assert.match(bad.json.error?.message ?? '', /env\.rotate: paths\.0/)
  const empty = await rpc('env.rotate', { id: 'rot/app', paths: [] })
  assert.equal(empty.status, 400)
  const missing = await rpc('env.rotate', { id: 'rot/none' })
  assert.equal(missing.status, 404)
})

test('RPC answers carry Server-Timing with the dispatch and encode durations only', async () => {
  const res = await raw('POST', '/rpc/env.list', rpcHeaders(), '{}')
  assert.equal(res.status, 200)
  assert.match(String(res.headers['server-timing']), /^dispatch;dur=\d+(\.\d)?, encode;dur=\d+(\.\d)?$/)
})
