import { readFile } from 'node:fs/promises'
import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'

test('save twice and diff the two revisions; diff a revision against the unsaved buffer', async ({ app: page }) => {
  await createEnv(page, 'acme/app')
  await typeInEditor(page, ['values:', '  region: us-east-1', '  replicas: 2'].join('\n'))
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  await page.getByTestId('save-message').fill('first values')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/app')).toContainText('r2')

  await typeInEditor(page, ['values:', '  region: eu-west-1', '  replicas: 2'].join('\n'))
  await page.keyboard.press('ControlOrMeta+S')
  await expect(page.getByTestId('env-item-acme/app')).toContainText('r3')

  await page.getByTestId('tab-history').click()
  await expect(page.getByTestId('rev-3')).toBeVisible()
  await expect(page.getByTestId('rev-2')).toContainText('first values')
  await page.getByTestId('rev-left-2').check()
  await page.getByTestId('rev-right-3').check()
  await expect(page.getByTestId('diff-labels')).toHaveText('revision 2 ↔ revision 3')
  const diff = page.getByTestId('diff-editor')
  await expect(diff.locator('.line-delete, .char-delete').first()).toBeVisible()
  await expect(diff.locator('.editor.original')).toContainText('us-east-1')
  await expect(diff.locator('.editor.modified')).toContainText('eu-west-1')
  await shot(page, 'history')

  // tag revision 2
  await page.getByTestId('rev-tag-2').click()
  await page.getByTestId('dialog-input').fill('stable')
  await page.getByTestId('dialog-tag').click()
  await expect(page.getByTestId('rev-2')).toContainText('stable')

  // roll back to revision 2: a new revision 4 with revision 2's content
  await page.getByTestId('rev-rollback-2').click()
  await page.getByTestId('dialog-rollback').click()
  await expect(page.getByTestId('rev-4')).toBeVisible()
  await expect(page.getByTestId('env-item-acme/app')).toContainText('r4')
  await page.getByTestId('tab-editor').click()
  await expect(page.getByTestId('values-tree')).toContainText('us-east-1')
  await page.getByTestId('tab-history').click()

  // retract revision 3 with a reason
  await page.getByTestId('rev-retract-3').click()
  await page.getByTestId('dialog-input').fill('wrong region')
  await page.getByTestId('dialog-retract').click()
  await expect(page.getByTestId('rev-3')).toContainText('wrong region')
  await expect(page.getByTestId('rev-3')).toHaveClass(/retracted/)

  // revision vs unsaved buffer
  await page.getByTestId('tab-editor').click()
  await typeInEditor(page, ['values:', '  region: ap-south-1', '  replicas: 2'].join('\n'))
  await page.getByTestId('tab-history').click()
  await page.getByTestId('diff-buffer').click()
  await expect(page.getByTestId('diff-labels')).toContainText('unsaved buffer')
  await expect(page.getByTestId('diff-editor').locator('.editor.modified')).toContainText('ap-south-1')
})

test('import graph shows the import edges, a broken import in red, and opens an environment on click', async ({ app: page }) => {
  await createEnv(page, 'acme/base')
  await typeInEditor(page, ['values:', '  domain: example.com'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/base')).toContainText('r2')

  await createEnv(page, 'acme/dev')
  await typeInEditor(page, ['imports:', '  - acme/base', 'values:', '  url: https://dev.${domain}'].join('\n'))
  await expect(page.getByTestId('values-tree')).toContainText('https://dev.example.com')
  // the value's origin points at the importing line; domain comes from acme/base
  await expect(page.getByTestId('values-tree')).toContainText('acme/base:2')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/dev')).toContainText('r2')

  await createEnv(page, 'acme/prod')
  await typeInEditor(page, ['imports:', '  - acme/base', 'values:', '  url: https://${domain}'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/prod')).toContainText('r2')

  // a broken import: acme/legacy imports acme/gone, which is then deleted
  await createEnv(page, 'acme/gone')
  await createEnv(page, 'acme/legacy')
  await typeInEditor(page, ['imports:', '  - acme/gone', 'values:', '  x: 1'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/legacy')).toContainText('r2')
  await page.getByTestId('env-delete-acme/gone').click({ force: true })
  await page.getByTestId('dialog-delete').click()
  await expect(page.getByTestId('env-item-acme/gone')).toHaveCount(0)

  await page.getByTestId('env-item-acme/base').click()
  await page.getByTestId('tab-graph').click()
  await expect(page.getByTestId('graph-counts')).toHaveText('5 environments, 3 imports')
  const graph = page.getByTestId('graph')
  for (const id of ['acme/base', 'acme/dev', 'acme/prod']) await expect(graph.locator(`.react-flow__node[data-id="${id}"]`)).toBeVisible()
  await expect(graph.locator('.react-flow__edge[data-id="acme/dev->acme/base"]')).toHaveCount(1)
  await expect(graph.locator('.react-flow__edge[data-id="acme/prod->acme/base"]')).toHaveCount(1)
  // the selected env (base) has both others as descendants
  await expect(graph.locator('.react-flow__node[data-id="acme/base"]')).toHaveClass(/selected-env/)
  await expect(graph.locator('.react-flow__node[data-id="acme/dev"]')).toHaveClass(/descendant/)
  await expect(graph.locator('.react-flow__node[data-id="acme/gone"]')).toHaveClass(/broken/)
  await expect(graph.locator('.react-flow__edge[data-id="acme/legacy->acme/gone"]')).toHaveClass(/bad/)
  await expect(page.getByTestId('graph-problems')).toContainText('acme/legacy imports acme/gone: no such environment')
  await shot(page, 'graph')

  await graph.locator('.react-flow__node[data-id="acme/prod"]').click()
  await expect(page.getByTestId('editor-title')).toContainText('acme/prod')
})

test('export dotenv downloads exactly the environment variables; secrets need an explicit opt-in', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/api')
  await typeInEditor(
    page,
    [
      'values:',
      '  host: db.internal',
      '  password:',
      '    fn::secret: s3cr3t-pw',
      '  environmentVariables:',
      '    DB_HOST: ${host}',
      '    DB_PASSWORD: ${password}',
      '    GREETING: hello world',
    ].join('\n'),
  )
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  // the secret is masked in the preview
  await expect(page.getByTestId('var-DB_PASSWORD')).toContainText('[secret]')
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/api')).toContainText('r2')
  // stored encrypted: after the save the editor holds ciphertext, not the plaintext
  const editorText = () => page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { getValue(): string } }).__envelopeEditor.getValue())
  await expect.poll(editorText).toContain('ciphertext')
  expect(await editorText()).not.toContain('s3cr3t-pw')
  // Reveal secrets: the definition is reloaded decrypted and the preview shows the value
  await page.getByTestId('reveal-toggle').check()
  await expect.poll(editorText).toContain('fn::secret: s3cr3t-pw')
  await expect(page.getByTestId('var-DB_PASSWORD')).toContainText('s3cr3t-pw')
  await page.getByTestId('reveal-toggle').uncheck()
  await expect(page.getByTestId('var-DB_PASSWORD')).toContainText('[secret]')
  await expect.poll(editorText).toContain('ciphertext')

  await page.getByTestId('tab-export').click()
  await expect(page.getByTestId('export-preview')).toContainText('DB_HOST')
  await expect(page.getByTestId('export-preview')).toContainText('[secret]')
  await expect(page.getByTestId('export-warning')).toHaveCount(0)

  await page.getByTestId('export-reveal').check()
  await expect(page.getByTestId('export-warning')).toContainText('1 secret value in plain text')
  await shot(page, 'export')
  await page.getByTestId('export-save').click()
  // the confirmation names the risk; accept it and take the download
  await expect(page.getByTestId('dialog')).toContainText('plain text')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('dialog-ok').click()])
  expect(download.suggestedFilename()).toBe('acme-api.env')
  const path = await download.path()
  const text = await readFile(path, 'utf8')
  expect(text).toBe(`DB_HOST='db.internal'\nDB_PASSWORD='s3cr3t-pw'\nGREETING='hello world'\n`)
  expect(envelope.dataDir).toBeTruthy()
})

test('a stale save is refused and resolved: keep editing, then overwrite on top of the other revision', async ({ app: page, envelope }) => {
  await createEnv(page, 'acme/shared')
  await typeInEditor(page, ['values:', '  owner: me'].join('\n'))
  // someone else saves revision 2 through the same API
  const [base, token] = envelope.url.split('#token=') as [string, string]
  const res = await fetch(`${base}rpc/env.update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-envelope-token': token },
    body: JSON.stringify({ id: 'acme/shared', yaml: 'values:\n  owner: them\n', baseRevision: 1 }),
  })
  expect(res.status).toBe(200)

  await page.getByTestId('save').click()
  await expect(page.getByTestId('dialog')).toContainText('was changed since revision 1 (now at revision 2)')
  await page.getByTestId('dialog-cancel').click()
  await expect(page.getByTestId('editor-title')).toContainText('●')
  await page.getByTestId('save').click()
  await page.getByTestId('dialog-overwrite').click()
  await expect(page.getByTestId('env-item-acme/shared')).toContainText('r3')
  await page.getByTestId('tab-history').click()
  await expect(page.getByTestId('rev-2')).toBeVisible()
  await expect(page.getByTestId('rev-3')).toBeVisible()
})
