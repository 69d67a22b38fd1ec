import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'

test('run a command with the environment injected: variables in its output, secrets masked', async ({ app: page }) => {
  await createEnv(page, 'acme/tools')
  await typeInEditor(
    page,
    [
      'values:',
      '  user: alice',
      '  token:',
      '    fn::secret: tok-123456',
      '  environmentVariables:',
      '    APP_USER: ${user}',
      '    APP_TOKEN: ${token}',
      '    APP_MODE: e2e',
    ].join('\n'),
  )
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/tools')).toContainText('r2')

  await page.getByTestId('tab-run').click()
  await page.getByTestId('run-command').fill(`sh -c 'echo "user=$APP_USER mode=$APP_MODE token=$APP_TOKEN"; echo oops >&2; exit 3'`)
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-status')).toHaveText('exited with code 3')
  const out = page.getByTestId('run-output')
  await expect(out).toContainText('user=alice mode=e2e token=[secret]')
  await expect(out).toContainText('oops')
  await expect(out).not.toContainText('tok-123456')
  await expect(page.getByTestId('run-vars')).toContainText('APP_MODE, APP_TOKEN, APP_USER')
  await shot(page, 'run')

  // a command that does not exist: a readable error, not a silent failure
  await page.getByTestId('run-command').fill('no-such-command-xyz')
  await page.getByTestId('run-start').click()
  await expect(out).toContainText('command not found: no-such-command-xyz')
})
