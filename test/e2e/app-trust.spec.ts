/**
 * Issue 12, rule 13 — the app, in Chromium against the built renderer and a real web-mode bridge: the
 * editor's message field and Save stay visible and uncovered from 900 px (screenshots at 900/1000/1150/1400);
 * Ctrl+S saves with the typed message; the Export screen opens once per visit and audits revealed secrets as
 * `export`; a CLI `env set` while the app is open shows up (list and editor revision); an invalid name keeps
 * the New dialog open with the error next to the field; Delete starts on Cancel and names the importers;
 * Retract is not offered on the latest revision; error notices collapse and dismiss (✕, Escape); a sync
 * login over plain http:// to another machine asks first.
 */
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import type { Page } from '@playwright/test'
import { createEnv, expect, shot, test, typeInEditor } from './fixtures.ts'
import type { Envelope } from './fixtures.ts'

const root = resolve(import.meta.dirname, '../..')

/** the real CLI on the app's data folder (same key settings as the bridge: keychain, or the fixture's passphrase) */
function cli(envelope: Envelope, args: string[], input?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, ENVELOPE_DATA_DIR: envelope.dataDir, ENVELOPE_NO_AGENT: '1', NO_COLOR: '1' }
  if (!process.env.ENVELOPE_IN_KEYRING && !env.ENVELOPE_PASSPHRASE && !env.ENVELOPE_KEY_FILE) env.ENVELOPE_PASSPHRASE = 'e2e-passphrase'
  const r = spawnSync(process.execPath, [join(root, 'bin/envelope'), ...args], { env, encoding: 'utf8', ...(input !== undefined ? { input } : {}) })
  if (r.status !== 0) throw new Error(`envelope ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** `el` is on screen and it is what a click at its centre reaches (nothing covers it) */
async function uncovered(page: Page, testId: string): Promise<void> {
  const el = page.getByTestId(testId)
  await expect(el).toBeVisible()
  const box = await el.boundingBox()
  const vp = page.viewportSize()
  expect(box && vp, testId).toBeTruthy()
  if (!box || !vp) return
  expect(box.x, `${testId} starts inside the window`).toBeGreaterThanOrEqual(0)
  expect(box.x + box.width, `${testId} ends inside the window`).toBeLessThanOrEqual(vp.width)
  expect(box.width, `${testId} has room`).toBeGreaterThan(testId === 'save-message' ? 100 : 30)
  const hit = await page.evaluate(
    ([id, x, y]) => {
      const g = globalThis as unknown as {
        document: { elementFromPoint(x: number, y: number): { closest(s: string): unknown } | null; querySelector(s: string): unknown }
      }
      const at = g.document.elementFromPoint(x as number, y as number)
      return !!at && at.closest(`[data-testid="${id as string}"]`) === g.document.querySelector(`[data-testid="${id as string}"]`)
    },
    [testId, box.x + box.width / 2, box.y + box.height / 2] as const,
  )
  expect(hit, `${testId} is not covered`).toBe(true)
}

test('layout: message field and Save visible and uncovered at 900, 1000, 1150 and 1400 px', async ({ app: page }) => {
  await page.setViewportSize({ width: 1400, height: 800 })
  await createEnv(page, 'acme/layout-with-a-longish-name')
  await typeInEditor(page, 'values:\n  a: 1\n  environmentVariables:\n    A: ${a}\n')
  for (const width of [900, 1000, 1150, 1400]) {
    await page.setViewportSize({ width, height: 700 })
    await uncovered(page, 'save-message')
    await uncovered(page, 'save')
    await shot(page, `app-trust-layout-${width}`)
  }
})

test('layout: at 900 px every screen keeps its controls inside the window', async ({ app: page }) => {
  await page.setViewportSize({ width: 900, height: 700 })
  await createEnv(page, 'acme/narrow')
  for (const tab of ['history', 'run', 'export', 'audit', 'settings', 'graph']) {
    await page.getByTestId(`tab-${tab}`).click()
    await page.waitForTimeout(300)
    const outside = await page.evaluate(() => {
      const g = globalThis as unknown as {
        innerWidth: number
        document: { querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { right: number; width: number }; textContent: string | null }> }
      }
      return Array.from(g.document.querySelectorAll('button, input, select'))
        .filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > g.innerWidth + 1)
        .map((el) => el.textContent ?? '?')
    })
    expect(outside, `${tab}: controls past the right edge`).toEqual([])
    await shot(page, `app-trust-900-${tab}`)
  }
})

test('Ctrl+S saves with the typed revision message, like the Save button', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/msg')
  await typeInEditor(page, 'values:\n  a: 2\n')
  await page.getByTestId('save-message').fill('bump a to 2')
  await page.getByTestId('save-message').press('ControlOrMeta+s')
  await expect(page.getByTestId('editor-revision')).toContainText('revision 2')
  await expect(page.getByTestId('save-message')).toHaveValue('')
  // from the editor too (focus in Monaco)
  await typeInEditor(page, 'values:\n  a: 3\n')
  await page.getByTestId('save-message').fill('bump a to 3')
  await page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { focus(): void } }).__envelopeEditor.focus())
  await page.keyboard.press('ControlOrMeta+s')
  await expect(page.getByTestId('editor-revision')).toContainText('revision 3')
  const history = cli(envelope, ['env', 'version', 'history', 'acme/msg'])
  expect(history).toContain('bump a to 2')
  expect(history).toContain('bump a to 3')
})

test('Export: one open per visit whatever the options; revealed secrets audited as export', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/exp')
  await typeInEditor(page, 'values:\n  environmentVariables:\n    TOKEN:\n      fn::secret: exp-s3cr3t\n    PLAIN: hi\n')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('editor-revision')).toContainText('revision 2')
  await page.getByTestId('tab-export').click()
  await expect(page.getByTestId('export-preview')).toContainText('PLAIN')
  for (const format of ['json', 'yaml', 'shell', 'dotenv']) {
    await page.getByTestId('export-format').selectOption(format)
    await expect(page.getByTestId('export-preview')).toContainText('PLAIN')
  }
  await page.getByTestId('export-reveal').check()
  await expect(page.getByTestId('export-preview')).toContainText('exp-s3cr3t')
  await page.getByTestId('export-format').selectOption('json')
  await expect(page.getByTestId('export-preview')).toContainText('"TOKEN": "exp-s3cr3t"')
  await page.getByTestId('export-reveal').uncheck()
  await expect(page.getByTestId('export-preview')).not.toContainText('exp-s3cr3t')
  const events = JSON.parse(cli(envelope, ['audit', '--env', 'acme/exp', '--output', 'json'])) as { action: string; detail?: { format?: string } }[]
  expect(events.filter((e) => e.action === 'open').length, '8 renders, one open').toBe(1)
  expect(events.filter((e) => e.action === 'export').map((e) => e.detail?.format)).toEqual(['json', 'dotenv'])
})

test('a CLI env set while the app is open shows up in the list and the editor', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/watch')
  await expect(page.getByTestId('editor-revision')).toContainText('revision 1')
  cli(envelope, ['env', 'set', 'acme/watch', 'values.fromCli', 'yes'])
  await expect(page.getByTestId('env-item-acme/watch')).toContainText('2', { timeout: 10_000 })
  await expect(page.getByTestId('editor-revision')).toContainText('revision 2', { timeout: 10_000 })
  await expect
    .poll(() => page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { getValue(): string } }).__envelopeEditor.getValue()))
    .toContain('fromCli')
  // with unsaved edits the buffer is kept and marked
  await typeInEditor(page, 'values:\n  mine: 1\n')
  cli(envelope, ['env', 'set', 'acme/watch', 'values.again', 'yes'])
  await expect(page.getByTestId('changed-elsewhere')).toContainText('revision 3 saved elsewhere', { timeout: 10_000 })
  cli(envelope, ['env', 'init', 'acme/born-in-cli'])
  await expect(page.getByTestId('env-item-acme/born-in-cli')).toBeVisible({ timeout: 10_000 })
})

test('New/Clone: an invalid or taken name keeps the dialog open with the error next to the field; no "bug"', async ({ app: page }) => {
  await createEnv(page, 'acme/taken')
  await page.getByTestId('env-new').click()
  await page.getByTestId('dialog-input').fill('no slash here')
  await page.getByTestId('dialog-create').click()
  await expect(page.getByTestId('dialog')).toBeVisible()
  await expect(page.getByTestId('dialog-error')).toContainText('project/name')
  await page.getByTestId('dialog-input').fill('acme/taken')
  await page.getByTestId('dialog-input').press('Enter')
  await expect(page.getByTestId('dialog-error')).toContainText('already exists')
  await page.getByTestId('dialog-input').fill('acme/fine')
  await page.getByTestId('dialog-create').click()
  await expect(page.getByTestId('editor-title')).toContainText('acme/fine')
  await page.getByTestId('env-clone-acme/fine').click()
  await page.getByTestId('dialog-input').fill('bad/')
  await page.getByTestId('dialog-clone').click()
  await expect(page.getByTestId('dialog-error')).toBeVisible()
  await page.getByTestId('dialog-cancel').click()
  await expect(page.getByText(/bug/i)).toHaveCount(0)
})

test('Delete: Cancel has the focus (Enter keeps the environment) and the importers are listed', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/lib')
  cli(envelope, ['env', 'init', 'acme/app', '-f', '-'], 'imports:\n  - acme/lib\nvalues:\n  a: 1\n')
  await expect(page.getByTestId('env-item-acme/app')).toBeVisible({ timeout: 10_000 })
  await page.getByTestId('env-delete-acme/lib').click()
  await expect(page.getByTestId('dialog-cancel')).toBeFocused()
  await expect(page.getByTestId('dialog-items')).toContainText('acme/app')
  await shot(page, 'app-trust-delete')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('dialog')).toHaveCount(0)
  await expect(page.getByTestId('env-item-acme/lib')).toBeVisible()
})

test('Retract is not offered on the latest revision', async ({ app: page }) => {
  await createEnv(page, 'acme/ret')
  await typeInEditor(page, 'values:\n  a: 2\n')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('editor-revision')).toContainText('revision 2')
  await page.getByTestId('tab-history').click()
  await expect(page.getByTestId('rev-retract-2')).toBeDisabled()
  await expect(page.getByTestId('rev-retract-2')).toHaveAttribute('title', /save a new revision first/)
})

test('error notices collapse, dismiss with ✕ and Escape, and are capped', async ({ app: page }) => {
  await createEnv(page, 'acme/notice')
  await page.getByTestId('tab-run').click()
  // a command line with an unterminated quote: refused in the page, a user error
  await page.getByTestId('run-command').fill('echo "unterminated')
  for (let i = 0; i < 3; i++) await page.getByTestId('run-start').click()
  await expect(page.getByTestId('notice-error')).toHaveCount(1)
  await expect(page.getByTestId('notice-count')).toHaveText(/×3/)
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('notice-error')).toHaveCount(0)
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('notice-error')).toHaveCount(1)
  await expect(page.getByTestId('notice-error')).toContainText('close the quote')
  await page.getByTestId('notice-error').getByTestId('notice-dismiss').click()
  await expect(page.getByTestId('notice-error')).toHaveCount(0)
})

test('sync login to plain http:// on another machine asks first (Cancel focused) and sends nothing unless confirmed', async ({ app: page }) => {
  await page.getByTestId('tab-settings').click()
  await page.getByTestId('sync-url').fill('http://sync.example.com')
  await page.getByTestId('sync-token').fill('esc_never_sent_token')
  await page.getByTestId('sync-login').click()
  await expect(page.getByTestId('dialog')).toContainText('unencrypted')
  await expect(page.getByTestId('dialog-cancel')).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('dialog')).toHaveCount(0)
  await expect(page.getByTestId('sync-status')).toContainText('not configured')
  await shot(page, 'app-trust-sync-http')
})
