/**
 * The app's delete (issue 12 rule 8) over the loopback web transport and the real services (a real SQLite
 * store in a temp folder; the real keychain under test/with-keyring.sh): `env.importers` lists who uses an
 * environment; `env.delete` of a used one is refused with code `in_use` and `data.importers`, nothing
 * deleted; `force: true` (after the app's explicit confirmation) deletes.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, mkdir } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createContext } from '../../../electron/app-api/context.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import { startWebTransport } from '../../../electron/app-api/web-transport.ts'
import type { WebTransport } from '../../../electron/app-api/web-transport.ts'

let dir: string
let bridge: WebTransport
let closeServices: () => void

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-delete-'))
  await mkdir(join(dir, 'static'))
  const { ctx, services } = createContext({ mode: 'web', version: 'test', dataDir: join(dir, 'data') })
  closeServices = () => services.close()
  bridge = await startWebTransport({ dispatcher: createDispatcher(ctx), staticDir: join(dir, 'static') })
})

after(async () => {
  await bridge.close()
  closeServices()
  await rm(dir, { recursive: true, force: true })
})

interface Reply {
  ok: boolean
  result?: unknown
  error?: { name?: string; code?: string; message: string; data?: { importers?: unknown } }
}

function rpc(channel: string, body: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: bridge.port,
        method: 'POST',
        path: `/rpc/${channel}`,
        headers: { 'content-type': 'application/json', 'x-envelope-token': bridge.token },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () => resolve(JSON.parse(text) as Reply))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

test('env.importers lists the uses; env.delete refuses with in_use and the list unless force', async () => {
  assert.ok((await rpc('env.create', { id: 'c/lib', yaml: 'values:\n  x: 1\n' })).ok)
  assert.ok((await rpc('env.create', { id: 'c/app', yaml: 'imports:\n  - c/lib\nvalues:\n  a: 1\n' })).ok)
  assert.ok((await rpc('env.create', { id: 'c/web', yaml: 'values:\n  y: 0\n  a: ${environments.c.lib.x}\n' })).ok)
  const expected = [
    { id: 'c/app', via: 'import', raw: 'c/lib', line: 2 },
    { id: 'c/web', via: 'reference', raw: 'environments.c.lib', line: 3 },
  ]
  assert.deepEqual((await rpc('env.importers', { id: 'c/lib' })).result, expected)
  assert.deepEqual((await rpc('env.importers', { id: 'c/app' })).result, [])
  const refused = await rpc('env.delete', { id: 'c/lib' })
  assert.equal(refused.ok, false)
  assert.equal(refused.error?.code, 'in_use')
  assert.equal(refused.error?.name, 'InUseError')
  assert.deepEqual(refused.error?.data?.importers, expected)
  assert.match(refused.error!.message, /c\/lib is used by 2 environments: c\/app .*c\/web/)
  assert.ok((await rpc('env.get', { id: 'c/lib' })).ok, 'nothing was deleted')
  assert.equal((await rpc('env.delete', { id: 'c/lib', force: 'yes' })).error?.code, 'invalid_input', 'force is a boolean')
  assert.ok((await rpc('env.delete', { id: 'c/lib', force: true })).ok)
  assert.equal((await rpc('env.get', { id: 'c/lib' })).error?.code, 'not_found')
  // an environment nobody uses is deleted without force
  assert.ok((await rpc('env.delete', { id: 'c/web' })).ok)
})
