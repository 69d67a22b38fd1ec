/**
 * Rotation end to end: a real store (SQLite file, passphrase key), the language core, the postgres rotator
 * and the real PostgreSQL. An application re-opens the environment and connects with `${db.url}` in a loop
 * while `env rotate` runs several times: no failed connection; each rotation is a new revision whose state
 * secrets are stored encrypted; the previous rotation's password still works, the one before does not.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { evaluate } from '../../../shared/esc/index.ts'
import type { EvalValue } from '../../../shared/esc/host.ts'
import { createServices } from '../../../electron/services/index.ts'
import type { Services } from '../../../electron/services/index.ts'
import { createProviderRegistry } from '../../../electron/providers/index.ts'
import { rotateStoredEnvironment, serviceRotateDeps } from '../../../electron/providers/rotation.ts'
import type { EnvironmentService, RotationResult } from '../../../shared/models.ts'
import { PG_URL, query, skipNoPg, sleep, tempDir } from './helpers.ts'

const BLUE = 'envtest_store_blue'
const GREEN = 'envtest_store_green'
const ENV = 'app/db'

function field(v: Record<string, EvalValue> | undefined, ...path: string[]): unknown {
  let cur: EvalValue | undefined = { value: v ?? {}, trace: {} }
  for (const k of path) cur = (cur?.value as Record<string, EvalValue> | undefined)?.[k]
  return cur?.value
}

describe('env rotate through the store and the core', { skip: skipNoPg }, () => {
  let services: Services
  const providers = createProviderRegistry({ pluginsPath: [] })

  /** The store's own rotate when it has one; else the same orchestration over its public methods. */
  const rotate = (paths?: string[]): Promise<RotationResult> => {
    const env: EnvironmentService = services.environments
    if (typeof env.rotate === 'function') return env.rotate(ENV, paths ? { paths } : {})
    return rotateStoredEnvironment(ENV, paths, serviceRotateDeps(env, ENV, providers, { evaluate }))
  }

  before(async () => {
    await query(PG_URL as string, `DROP ROLE IF EXISTS ${BLUE}; DROP ROLE IF EXISTS ${GREEN}; CREATE ROLE ${BLUE} LOGIN; CREATE ROLE ${GREEN} LOGIN`)
    services = createServices({ dataDir: tempDir(), keys: { backend: 'passphrase', passphrase: 'rotation test passphrase' }, providers })
    // the admin connection lives in another environment, imported (rotation resolves imports too)
    await services.environments.create('app/admin', { yaml: `values:\n  admin:\n    fn::secret: ${PG_URL as string}\n` })
    await services.environments.create(ENV, {
      yaml: `# the database of the app
imports:
  - app/admin
values:
  db:
    fn::rotate::postgres:
      inputs:
        connection: \${admin}
        users: [${BLUE}, ${GREEN}]
  # what the app reads
  environmentVariables:
    DATABASE_URL: \${db.url}
`,
    })
  })
  after(async () => {
    services?.close()
    await query(PG_URL as string, `DROP ROLE IF EXISTS ${BLUE}; DROP ROLE IF EXISTS ${GREEN}`)
  })

  it('keeps the app connected, stores state encrypted, and invalidates only two-rotations-old credentials', async () => {
    // before the first rotation the environment reports that it has no credentials yet
    const empty = await services.environments.open(ENV)
    assert.match(empty.diagnostics.map((d) => d.summary).join('\n'), /no credentials yet/)

    const first = await rotate()
    assert.equal(first.status, 'succeeded')
    assert.deepEqual(first.rotations, [{ path: 'values.db', status: 'succeeded' }])
    assert.equal(first.postRotationRevision, first.preRotationRevision + 1)

    const urls: string[] = []
    const openUrl = async (): Promise<string> => {
      const r = await services.environments.open(ENV)
      assert.deepEqual(r.diagnostics, [])
      return field(r.value, 'environmentVariables', 'DATABASE_URL') as string
    }
    urls.push(await openUrl())

    let stop = false
    let ok = 0
    const failures: string[] = []
    const app = (async () => {
      while (!stop) {
        try {
          await query(await openUrl(), 'SELECT 1')
          ok++
        } catch (err) {
          failures.push((err as Error).message)
        }
        await sleep(5)
      }
    })()
    const connectedSince = async (n: number): Promise<void> => {
      const start = ok
      while (ok < start + n && failures.length === 0) await sleep(5)
    }
    for (let i = 0; i < 4; i++) {
      await connectedSince(2)
      const r = await rotate(['db'])
      assert.equal(r.status, 'succeeded')
      urls.push(await openUrl())
    }
    await connectedSince(2)
    stop = true
    await app
    assert.deepEqual(failures, [])

    // one revision per rotation; the stored YAML has the state encrypted, the comments kept
    const revs = await services.environments.listRevisions(ENV)
    assert.equal(revs[0]?.number, 6)
    assert.equal(revs[0]?.message, 'rotate values.db')
    const stored = await services.environments.getDefinition(ENV)
    const last = new URL(urls[4] as string)
    const password = decodeURIComponent(last.password)
    assert.ok(!stored.yaml.includes(password), 'no plaintext password in the stored revision')
    assert.match(stored.yaml, /# the database of the app/)
    assert.match(stored.yaml, /# what the app reads/)
    const plain = await services.environments.getDefinition(ENV, { decrypt: true })
    assert.ok(plain.yaml.includes(password))

    const userOf = (u: string): string => new URL(u).username
    assert.deepEqual(urls.map(userOf), [BLUE, GREEN, BLUE, GREEN, BLUE])
    await query(urls[4] as string, 'SELECT 1')
    await query(urls[3] as string, 'SELECT 1')
    await assert.rejects(query(urls[2] as string, 'SELECT 1'), { code: '28P01' })
  })

  it('reports a failed rotation and saves nothing, and refuses an unknown path', async () => {
    const before = await services.environments.getDefinition(ENV)
    await query(PG_URL as string, `DROP ROLE ${GREEN}`)
    try {
      const r = await rotate()
      assert.equal(r.status, 'failed')
      assert.equal(r.postRotationRevision, undefined)
      assert.equal(r.rotations.length, 1)
      assert.equal(r.rotations[0]?.status, 'failed')
      assert.equal(r.rotations[0]?.path, 'values.db')
      assert.match(r.rotations[0]?.errorMessage ?? '', /role "envtest_store_green" does not exist/)
      assert.equal((await services.environments.getDefinition(ENV)).revision, before.revision)
    } finally {
      await query(PG_URL as string, `CREATE ROLE ${GREEN} LOGIN`)
    }
    await assert.rejects(rotate(['nothing.here']), /no fn::rotate found at values\.nothing\.here in app\/db/)
  })
})
