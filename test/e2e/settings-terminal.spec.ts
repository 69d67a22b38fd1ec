import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'

test('settings: key status, agent card (autostart off and on, kept), data folder, sync not configured; terminal command launches with the env injected', async ({
  app: page,
  envelope,
}) => {
  await page.getByTestId('tab-settings').click()
  await expect(page.getByTestId('data-dir')).toHaveText(envelope.dataDir)
  await expect(page.getByTestId('sync-status')).toHaveText('Sync account: not configured.')
  // the key is created lazily: after one environment exists, its backend is reported as available
  await createEnv(page, 'acme/term')
  await typeInEditor(page, ['values:', '  environmentVariables:', '    TERM_PROBE: from-envelope'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/term')).toContainText('r2')

  await page.getByTestId('tab-settings').click()
  await expect(page.getByTestId('key-status')).toContainText(process.env.ENVELOPE_IN_KEYRING ? 'keychain' : 'passphrase')
  await expect(page.getByTestId('key-status')).toContainText('available')

  // the command-line agent: none runs; autostart (a store setting) off and on again, kept across a reload
  const agentStatus = page.getByTestId('agent-status')
  const autostart = page.getByTestId('agent-autostart')
  const startsOne = process.env.ENVELOPE_IN_KEYRING ? 'envelope run starts one when' : "This store's key is a passphrase"
  await expect(agentStatus).toContainText('Not running.')
  await expect(agentStatus).toContainText(startsOne)
  await expect(autostart).toBeChecked()
  await expect(page.getByTestId('agent-stop')).toHaveCount(0)
  await autostart.uncheck()
  await expect(agentStatus).toContainText('envelope run does not start one (autostart is off)')
  await page.reload()
  await page.getByTestId('tab-settings').click()
  await expect(autostart).not.toBeChecked()
  await expect(agentStatus).toContainText('autostart is off')
  await autostart.check()
  await expect(agentStatus).toContainText(startsOne)
  await page.reload()
  await page.getByTestId('env-item-acme/term').click() // a reload forgets the open environment (the Run tab below needs it)
  await page.getByTestId('tab-settings').click()
  await expect(autostart).toBeChecked()
  await expect(agentStatus).toContainText(startsOne)

  // a "terminal" that records the variable it was started with
  const probe = join(envelope.dataDir, 'terminal-probe.txt')
  await page.getByTestId('terminal-command').fill(`sh -c 'printenv TERM_PROBE > "${probe}"'`)
  await page.getByTestId('terminal-save').click()
  await expect(page.getByTestId('notice-info').last()).toContainText('Terminal command saved')
  await shot(page, 'settings')

  await page.getByTestId('tab-run').click()
  await page.getByTestId('launch-terminal').click()
  await expect(page.getByTestId('notice-info').last()).toContainText('Opened sh -c')
  await expect.poll(() => readFile(probe, 'utf8').catch(() => '')).toBe('from-envelope\n')
})

test('environment list: search, clone, delete with confirmation, unsaved-changes guard, dark theme', async ({ app: page }) => {
  for (const id of ['shop/dev', 'shop/prod', 'blog/dev']) await createEnv(page, id)
  await page.getByTestId('env-search').fill('shop')
  await expect(page.getByTestId('env-list')).not.toContainText('blog')
  await expect(page.getByTestId('env-item-shop/prod')).toBeVisible()
  await page.getByTestId('env-search').fill('')

  // clone shop/dev -> shop/staging
  await page.getByTestId('env-item-shop/dev').click()
  await page.getByTestId('env-clone-shop/dev').click()
  await page.getByTestId('dialog-input').fill('shop/staging')
  await page.getByTestId('dialog-clone').click()
  await expect(page.getByTestId('editor-title')).toContainText('shop/staging')

  // unsaved changes: switching asks; Cancel keeps the buffer, Discard drops it
  await typeInEditor(page, ['values:', '  draft: true'].join('\n'))
  await page.getByTestId('env-item-blog/dev').click()
  await expect(page.getByTestId('dialog')).toContainText('unsaved changes')
  await page.getByTestId('dialog-cancel').click()
  await expect(page.getByTestId('editor-title')).toContainText('shop/staging')
  await page.getByTestId('env-item-blog/dev').click()
  await page.getByTestId('dialog-discard').click()
  await expect(page.getByTestId('editor-title')).toContainText('blog/dev')

  // Alt+Down switches to the next environment in the list
  await page.keyboard.press('Alt+ArrowDown')
  await expect(page.getByTestId('editor-title')).toContainText('shop/dev')

  // delete blog/dev
  await page.getByTestId('env-delete-blog/dev').click({ force: true })
  await expect(page.getByTestId('dialog')).toContainText('Delete blog/dev?')
  await page.getByTestId('dialog-delete').click()
  await expect(page.getByTestId('env-item-blog/dev')).toHaveCount(0)
  await shot(page, 'list')

  await page.getByTestId('theme-toggle').click()
  await expect(page.locator('html')).toHaveAttribute('data-theme', /dark|light/)
  const theme = await page.locator('html').getAttribute('data-theme')
  if (theme !== 'dark') await page.getByTestId('theme-toggle').click()
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
  await page.getByTestId('env-item-shop/dev').click()
  await shot(page, 'editor-dark')
})
