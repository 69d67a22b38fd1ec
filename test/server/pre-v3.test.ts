/**
 * A server database made by the code before the one payload format (fixtures/pre-v3, made by
 * fixtures/pre-v3/make.ts: v2 payloads, an import) opens, decrypts and saves after the change; a new secret is
 * written as v3 and both open together.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from './helpers.ts'
import type { TestServer } from './helpers.ts'
import { LocalKek } from '../../server/keys.ts'
import { hashToken, mintToken } from '../../server/auth.ts'
import { decodeEnvelope } from '../../shared/esc/envelope.ts'

const E = (id: string) => `/api/esc/environments/acme/${id}`
const versions = (yaml: string) => [...yaml.matchAll(/ciphertext: (\S+)/g)].map((m) => decodeEnvelope(m[1]!)[0])

describe('server database made before v3 payloads', () => {
  it('opens, decrypts and saves; old and new payloads open together', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'envelope-server-pre-v3-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    copyFileSync(join(import.meta.dirname, 'fixtures/pre-v3/server.db'), join(dir, 'server.db'))
    const s = await startServer('sqlite', {
      kek: new LocalKek(Buffer.alloc(32, 5)),
      sameDbAs: { dbUrl: `sqlite:${join(dir, 'server.db')}`, schema: undefined, adminToken: '' } as unknown as TestServer,
    })
    try {
      const root = await s.repo.getUserByLogin('root')
      const token = mintToken()
      await s.repo.createToken(root!.id, hashToken(token), { description: 'pre-v3 test', expires: null })
      const stored = (await s.call(token, 'GET', E('vault/a'))).text
      assert.deepEqual(versions(stored), [2])
      assert.match((await s.call(token, 'GET', `${E('vault/a')}/decrypt`)).text, /fn::secret: hunter2/)
      const opened = await s.call(token, 'POST', `${E('apps/b')}/open`)
      assert.equal(opened.status, 200, opened.text)
      // a save keeps the old payload as it is and writes the new one as v3
      const saved = await s.call(token, 'PATCH', E('vault/a'), `${stored}  more:\n    fn::secret: added\n`)
      assert.equal(saved.status, 200, saved.text)
      assert.deepEqual(versions((await s.call(token, 'GET', E('vault/a'))).text), [2, 3])
      const dec = (await s.call(token, 'GET', `${E('vault/a')}/decrypt`)).text
      assert.match(dec, /fn::secret: hunter2/)
      assert.match(dec, /fn::secret: added/)
    } finally {
      await s.close()
    }
  })
})
