/**
 * Settings → Sync against a real team server process (node server/main.ts, temp SQLite db, bootstrap admin)
 * started here: log in with a token, push, see "in sync"; then a concurrent edit on the server and in the app
 * → Sync now shows the conflict view (Monaco diff, base selectable) → Take theirs → in sync again.
 * Run under test/with-keyring.sh (the token goes to the real OS keychain).
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test, expect, createEnv, typeInEditor, pasteIntoFocused, shot } from './fixtures.ts'

const root = resolve(import.meta.dirname, '../..')
const MAIN = join(root, 'server/main.ts')
let server: ChildProcess | undefined
let url = ''
let token = ''
let dir = ''

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'envelope-e2e-server-'))
  const kek = join(dir, 'kek')
  expect(spawnSync(process.execPath, [MAIN, '--generate-kek', kek]).status).toBe(0)
  const args = ['--db', `sqlite:${join(dir, 'db.sqlite')}`, '--kek-file', kek]
  const boot = spawnSync(process.execPath, [MAIN, '--bootstrap-admin', 'boss', '--org', 'acme', ...args], { encoding: 'utf8' })
  expect(boot.status, boot.stderr).toBe(0)
  token = boot.stdout.trim()
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  server = child
  let out = ''
  url = await new Promise<string>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m?.[1]) res(m[1])
    })
    child.on('exit', (code) => rej(new Error(`server exited early (${code}): ${out}`)))
  })
})
test.afterAll(async () => {
  server?.kill('SIGTERM')
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const remote = async (path: string, init: RequestInit = {}) => {
  const r = await fetch(`${url}/api/esc/environments/acme/${path}`, {
    ...init,
    headers: { authorization: `token ${token}`, ...(init.headers as Record<string, string> | undefined) },
  })
  return { status: r.status, etag: r.headers.get('etag') ?? '', text: await r.text() }
}

test('sync: log in with a token, push, in sync; a conflict resolved with "Take theirs"', async ({ app: page }) => {
  await createEnv(page, 'app/dev')
  await typeInEditor(page, ['values:', '  greeting: hello', '  region: eu'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-app/dev')).toContainText('r2')

  await page.getByTestId('tab-settings').click()
  await expect(page.getByTestId('sync-status')).toHaveText('Sync account: not configured.')
  await page.getByTestId('sync-url').fill(url)
  await page.getByTestId('sync-token').fill(token)
  await page.getByTestId('sync-login').click()
  await expect(page.getByTestId('sync-status')).toContainText('boss')
  await expect(page.getByTestId('sync-status')).toContainText('acme')
  await expect(page.getByTestId('sync-section')).not.toContainText(token)
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('ahead (new)')

  await page.getByTestId('sync-now').click()
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('in sync')
  expect((await remote('app/dev/decrypt')).text).toContain('greeting: hello')
  await shot(page, 'sync')

  // concurrent edits: the server gets one revision, the app another
  const head = await remote('app/dev/decrypt')
  const theirs = head.text.replace('greeting: hello', 'greeting: hello from the server')
  expect((await remote('app/dev', { method: 'PATCH', body: theirs, headers: { 'content-type': 'application/x-yaml', etag: head.etag } })).status).toBe(200)
  await page.getByTestId('tab-editor').click()
  await typeInEditor(page, ['values:', '  greeting: hello from the app', '  region: eu'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-app/dev')).toContainText('r3')

  await page.getByTestId('tab-settings').click()
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('diverged')
  await page.getByTestId('sync-now').click()
  await expect(page.getByTestId('sync-conflict')).toBeVisible()
  await expect(page.getByTestId('sync-conflict')).toContainText('Conflict in app/dev: local r3 vs server r4 (base: local r2 = server r3)')
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('conflict')
  await expect(page.getByTestId('sync-diff')).toContainText('hello from the server')
  await page.getByTestId('sync-compare').selectOption('base-local')
  await expect(page.getByTestId('sync-diff-labels')).toContainText('base ↔ local')
  await expect(page.getByTestId('sync-diff')).toContainText('hello from the app')
  await shot(page, 'sync-conflict')

  await page.getByTestId('sync-take-theirs').click()
  await expect(page.getByTestId('sync-conflict')).toHaveCount(0)
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('in sync')
  expect((await remote('app/dev/decrypt')).text).toBe(theirs)

  // a second conflict, merged by hand: markers are refused, the edited merge lands on both sides
  const head2 = await remote('app/dev/decrypt')
  expect(
    (
      await remote('app/dev', {
        method: 'PATCH',
        body: head2.text.replace('region: eu', 'region: us'),
        headers: { 'content-type': 'application/x-yaml', etag: head2.etag },
      })
    ).status,
  ).toBe(200)
  await page.getByTestId('tab-editor').click()
  await typeInEditor(page, ['values:', '  greeting: hello again', '  region: eu'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-app/dev')).toContainText('r5')
  await page.getByTestId('tab-settings').click()
  await page.getByTestId('sync-now').click()
  await expect(page.getByTestId('sync-conflict')).toBeVisible()
  await page.getByTestId('sync-edit-merged').click()
  await expect(page.getByTestId('sync-merged')).toContainText('<<<<<<<')
  await page.getByTestId('sync-save-merged').click()
  await expect(page.getByTestId('sync-conflict-error')).toContainText('conflict markers')
  const merged = ['values:', '  greeting: hello again', '  region: us', ''].join('\n')
  await page.getByTestId('sync-merged').locator('.monaco-editor').click()
  await page.keyboard.press('ControlOrMeta+A')
  await pasteIntoFocused(page, merged)
  await expect(page.getByTestId('sync-merged')).not.toContainText('<<<<<<<')
  await page.getByTestId('sync-save-merged').click()
  await expect(page.getByTestId('sync-conflict')).toHaveCount(0)
  await expect(page.getByTestId('sync-state-app/dev')).toHaveText('in sync')
  expect((await remote('app/dev/decrypt')).text).toBe(merged)

  await page.getByTestId('sync-logout').click()
  await expect(page.getByTestId('sync-status')).toHaveText('Sync account: not configured.')
})
