import { resolve } from 'node:path'
import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'
import type { Page } from '@playwright/test'

// the example plugin rotator (examples/provider-example/envelope-provider-example) is found on
// ENVELOPE_PLUGINS_PATH, which the bridge process of each test inherits from this process
const pluginsDir = resolve(import.meta.dirname, '../../examples/provider-example')
let savedPath: string | undefined
test.beforeAll(() => {
  savedPath = process.env.ENVELOPE_PLUGINS_PATH
  process.env.ENVELOPE_PLUGINS_PATH = pluginsDir
})
test.afterAll(() => {
  if (savedPath === undefined) delete process.env.ENVELOPE_PLUGINS_PATH
  else process.env.ENVELOPE_PLUGINS_PATH = savedPath
})

const editorText = (page: Page) => page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { getValue(): string } }).__envelopeEditor.getValue())

/** `current:` / `previous:` plaintext tokens of the (decrypted) rotation state in the editor buffer */
async function tokens(page: Page): Promise<{ current?: string; previous?: string }> {
  const text = await editorText(page)
  const pick = (k: string) => new RegExp(`${k}:\\s*\\n?\\s*fn::secret:\\s*(tok_[A-Za-z0-9_-]+)`).exec(text)?.[1]
  const current = pick('current')
  const previous = pick('previous')
  return { ...(current ? { current } : {}), ...(previous ? { previous } : {}) }
}

test('rotate an environment with a plugin rotator: per-path result, a new revision, the state changes', async ({ app: page }) => {
  await createEnv(page, 'acme/tokens')
  // no rotate call yet: no Rotate button
  await page.getByTestId('tab-history').click()
  await expect(page.getByTestId('rev-1')).toBeVisible()
  await expect(page.getByTestId('rotate')).toHaveCount(0)

  await page.getByTestId('tab-editor').click()
  await typeInEditor(page, ['values:', '  apiKey:', '    fn::rotate::example:', '      inputs: {prefix: "tok_", length: 16}', '  plain: hello'].join('\n'))
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/tokens')).toContainText('r2')

  await page.getByTestId('tab-history').click()
  await page.getByTestId('rotate').click()
  await page.getByTestId('dialog-rotate').click()
  const result = page.getByTestId('rotation-result')
  await expect(result).toHaveAttribute('data-status', 'succeeded')
  await expect(result).toContainText('revision 2 → 3')
  await expect(page.getByTestId('rotation-values.apiKey')).toHaveAttribute('data-status', 'succeeded')
  await expect(page.getByTestId('rotation-values.apiKey')).toContainText('rotated')
  // the history shows the new revision, and the diff compares it with the one before
  await expect(page.getByTestId('rev-3')).toBeVisible()
  await expect(page.getByTestId('env-item-acme/tokens')).toContainText('r3')
  await expect(page.getByTestId('diff-labels')).toHaveText('revision 2 ↔ revision 3')
  await expect(page.getByTestId('diff-editor').locator('.editor.modified')).toContainText('state')
  await shot(page, 'rotate')

  // the state holds a token (secret, so stored encrypted): reveal and read it in the editor
  await page.getByTestId('reveal-toggle').check()
  await page.getByTestId('tab-editor').click()
  await expect.poll(async () => (await tokens(page)).current).toMatch(/^tok_/)
  const first = await tokens(page)
  expect(await editorText(page)).not.toContain('ciphertext')

  // rotate again: a new current token, the old one becomes previous
  await page.getByTestId('tab-history').click()
  await page.getByTestId('rotate').click()
  await page.getByTestId('dialog-rotate').click()
  await expect(page.getByTestId('rotation-result')).toContainText('revision 3 → 4')
  await expect(page.getByTestId('rev-4')).toBeVisible()
  await page.getByTestId('tab-editor').click()
  await expect.poll(async () => (await tokens(page)).previous).toBe(first.current)
  const second = await tokens(page)
  expect(second.current).toMatch(/^tok_/)
  expect(second.current).not.toBe(first.current)

  // the rotations are in the audit log
  await page.getByTestId('tab-audit').click()
  await page.getByTestId('audit-filter').selectOption('acme/tokens')
  await expect(page.locator('[data-testid=audit-row][data-action=rotate]')).toHaveCount(2)
  await expect(page.getByTestId('audit-table')).not.toContainText(first.current as string)
})

test('environment tags: add, edit, delete; the audit log lists the actions and filters by environment', async ({ app: page }) => {
  await createEnv(page, 'acme/web')
  await createEnv(page, 'acme/api')
  await page.getByTestId('tab-history').click()

  const tags = page.getByTestId('env-tags')
  await expect(tags).toContainText('none')
  await page.getByTestId('env-tag-key').fill('owner')
  await page.getByTestId('env-tag-value').fill('team-a')
  await page.getByTestId('env-tag-add').click()
  await expect(page.getByTestId('env-tag-owner')).toContainText('owner=team-a')
  await page.getByTestId('env-tag-key').fill('tier')
  await page.getByTestId('env-tag-value').fill('gold')
  await page.getByTestId('env-tag-value').press('Enter')
  await expect(page.getByTestId('env-tag-tier')).toContainText('tier=gold')

  // edit: click the tag, change the value
  await page.getByTestId('env-tag-edit-owner').click()
  await page.getByTestId('dialog-input').fill('team-b')
  await page.getByTestId('dialog-save').click()
  await expect(page.getByTestId('env-tag-owner')).toContainText('owner=team-b')
  await shot(page, 'env-tags')

  // delete
  await page.getByTestId('env-tag-delete-tier').click()
  await expect(page.getByTestId('env-tag-tier')).toHaveCount(0)

  // the tags are stored: another environment has none, and coming back shows them again
  await page.getByTestId('env-item-acme/web').click()
  await expect(page.getByTestId('editor-title').or(page.getByTestId('env-tags'))).toBeVisible()
  await expect(page.getByTestId('env-tags')).toContainText('none')
  await page.getByTestId('env-item-acme/api').click()
  await expect(page.getByTestId('env-tag-owner')).toContainText('owner=team-b')
  await expect(page.getByTestId('env-tag-tier')).toHaveCount(0)

  // audit log: every action, newest first; the filter narrows to one environment
  await page.getByTestId('tab-audit').click()
  const rows = page.getByTestId('audit-row')
  await expect(rows.first()).toBeVisible()
  await page.getByTestId('audit-filter').selectOption('')
  await expect(page.locator('[data-testid=audit-row][data-target="acme/web"][data-action=create]')).toHaveCount(1)
  await expect(page.locator('[data-testid=audit-row][data-target="acme/api"][data-action=create]')).toHaveCount(1)
  await page.getByTestId('audit-filter').selectOption('acme/api')
  await expect(page.locator('[data-testid=audit-row][data-target="acme/web"]')).toHaveCount(0)
  await expect(page.locator('[data-testid=audit-row][data-action=tag][data-target="acme/api"]')).toHaveCount(3)
  await expect(page.locator('[data-testid=audit-row][data-action=untag][data-target="acme/api"]')).toHaveCount(1)
  const untag = page.locator('[data-testid=audit-row][data-action=untag]')
  await expect(untag).toContainText('tier')
  await expect(untag).toHaveAttribute('data-result', 'ok')
  // newest first: the untag comes before the create of the same environment
  const actions = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))
  expect(actions.indexOf('untag')).toBeLessThan(actions.lastIndexOf('create'))
  await shot(page, 'audit')
})
