/**
 * The `postgres` rotator (two-user scheme) against the real PostgreSQL: an application that keeps opening
 * fresh connections with the credentials of the latest state never fails while rotations happen; the
 * credentials of the previous rotation still work; those of two rotations ago do not.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ProviderError } from '../../../electron/providers/index.ts'
import { createProviderRegistry } from '../../../electron/providers/index.ts'
import type { JsonValue, Rotator } from '../../../shared/esc/host.ts'
import { PG_URL, evaluatedState, query, skipNoPg, sleep, unwrap } from './helpers.ts'

const BLUE = 'envtest_rot_blue'
const GREEN = 'envtest_rot_green'
const ctx = { environment: 'test/rotation' }

type Creds = { username: string; password: string; url: string; previous?: { username: string; password: string; url: string } }

describe('postgres rotator', { skip: skipNoPg }, () => {
  let rotator: Rotator
  let inputs: JsonValue
  before(async () => {
    rotator = createProviderRegistry({ pluginsPath: [] }).rotator('postgres') as Rotator
    inputs = { connection: PG_URL as string, users: [BLUE, GREEN] }
    await query(
      PG_URL as string,
      `DROP TABLE IF EXISTS envtest_rot_data; DROP ROLE IF EXISTS ${BLUE}; DROP ROLE IF EXISTS ${GREEN};
       CREATE TABLE envtest_rot_data (n int); INSERT INTO envtest_rot_data VALUES (7);
       CREATE ROLE ${BLUE} LOGIN; CREATE ROLE ${GREEN} LOGIN;
       GRANT SELECT ON envtest_rot_data TO ${BLUE}, ${GREEN}`,
    )
  })
  after(async () => {
    await query(PG_URL as string, `DROP TABLE IF EXISTS envtest_rot_data; DROP ROLE IF EXISTS ${BLUE}; DROP ROLE IF EXISTS ${GREEN}`)
  })

  const open = async (state: JsonValue): Promise<Creds> => unwrap(await rotator.open(inputs, state, ctx)).json as unknown as Creds

  it('keeps an application connected through several rotations', async () => {
    // first rotation from an empty state sets the first user's password
    let state = evaluatedState(await rotator.rotate(inputs, {}, ctx))
    const history: Creds[] = [await open(state)]
    assert.equal(history[0]?.username, BLUE)
    assert.equal(history[0]?.previous, undefined)

    let stop = false
    let ok = 0
    const failures: string[] = []
    // the application: each iteration re-reads the latest state and opens a fresh connection with it
    const app = (async () => {
      while (!stop) {
        const c = await open(state)
        try {
          const rows = await query(c.url, 'SELECT n FROM envtest_rot_data')
          assert.deepEqual(rows, [{ n: 7 }])
          ok++
        } catch (err) {
          failures.push(`${c.username}: ${(err as Error).message}`)
        }
        await sleep(5)
      }
    })()
    // rotate six times; before each rotation, wait until the app has connected a few times with the current state
    const connectedSince = async (n: number): Promise<void> => {
      const start = ok
      while (ok < start + n && failures.length === 0) await sleep(5)
    }
    for (let i = 0; i < 6; i++) {
      await connectedSince(3)
      const raw = await rotator.rotate(inputs, state, ctx)
      // secrets in the new state are fn::secret literals, so the store encrypts them when writing back
      const r = raw as { current: { user: string; password: { 'fn::secret': string } }; previous: { user: string; password: { 'fn::secret': string } } }
      assert.equal(typeof r.current.password['fn::secret'], 'string')
      assert.equal(typeof r.previous.password['fn::secret'], 'string')
      state = evaluatedState(raw)
      history.push(await open(state))
    }
    await connectedSince(3)
    stop = true
    await app
    assert.deepEqual(failures, [])
    assert.ok(ok >= 21, `the app connected ${ok} times`)

    // users alternate, and `previous` is what was current one rotation ago
    assert.deepEqual(
      history.map((h) => h.username),
      [BLUE, GREEN, BLUE, GREEN, BLUE, GREEN, BLUE],
    )
    const last = history[6] as Creds
    const prev = history[5] as Creds
    const older = history[4] as Creds
    assert.equal(last.previous?.username, prev.username)
    assert.equal(last.previous?.password, prev.password)
    assert.notEqual(last.password, older.password)
    // current and previous rotation's credentials log in; two rotations old are refused
    assert.deepEqual(await query(last.url, 'SELECT current_user AS u'), [{ u: BLUE }])
    assert.deepEqual(await query(prev.url, 'SELECT current_user AS u'), [{ u: GREEN }])
    await assert.rejects(query(older.url, 'SELECT 1'), { code: '28P01' })
  })

  it('open marks passwords and urls secret and refuses an empty state with a hint', async () => {
    const state = evaluatedState(await rotator.rotate(inputs, evaluatedState(await rotator.rotate(inputs, {}, ctx)), ctx))
    const { secrets } = unwrap(await rotator.open(inputs, state, ctx))
    assert.deepEqual(secrets.sort(), ['password', 'previous.password', 'previous.url', 'url'])
    await assert.rejects(rotator.open(inputs, {}, ctx), (err: ProviderError) => {
      assert.match(err.message, /no credentials yet: run `envelope env rotate test\/rotation` once to set the first password/)
      return true
    })
  })

  it('fails clearly on bad inputs, a missing role, or a bad admin password, without secrets', async () => {
    await assert.rejects(rotator.rotate({ connection: PG_URL as string, users: [BLUE] }, {}, ctx), /users must be a list of two different role names/)
    await assert.rejects(rotator.rotate({ connection: PG_URL as string, users: [BLUE, BLUE] }, {}, ctx), /users must be a list of two different role names/)
    await assert.rejects(rotator.rotate(inputs, { current: { user: 'mallory', password: 'x' } }, ctx), /state\.current\.user "mallory" is not one of users/)
    await assert.rejects(rotator.rotate({ connection: PG_URL as string, users: ['envtest_rot_missing', GREEN] }, {}, ctx), (err: ProviderError) => {
      assert.match(err.message, /role "envtest_rot_missing" does not exist; create both users with the same privileges first, e\.g\. CREATE ROLE/)
      return true
    })
    const bad = (PG_URL as string).replace('envelope:envelope@', 'envelope:N0tTheAdminPw@')
    await assert.rejects(
      rotator.rotate({ connection: bad, users: [BLUE, GREEN] }, { current: { user: BLUE, password: 'S3cretCurrentPw' } }, ctx),
      (err: Error) => {
        assert.match(err.message, /cannot connect to 127\.0\.0\.1:5432\/envelope_test as admin/)
        assert.doesNotMatch(err.message, /N0tTheAdminPw|S3cretCurrentPw/)
        return true
      },
    )
  })
})
