import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'

test('create an environment, see an interpolation error marker at its line, fix it, preview updates', async ({ app: page }) => {
  await createEnv(page, 'acme/dev')
  await typeInEditor(page, ['values:', '  host: example.com', '  port: 443', '  url: https://${host}:', '  environmentVariables:', '    APP_URL: ${url}'].join('\n'))
  // type the reference key by key at the end of line 4 (with a typo)
  await page.evaluate(() => {
    const ed = (globalThis as unknown as { __envelopeEditor: { setPosition(p: { lineNumber: number; column: number }): void; focus(): void } }).__envelopeEditor
    ed.setPosition({ lineNumber: 4, column: 100 })
    ed.focus()
  })
  await page.keyboard.type('${prot}')
  await page.keyboard.press('Escape')
  await expect(page.locator('.monaco-editor .view-line').nth(3)).toContainText('url: https://${host}:${prot}')
  // the unknown property `prot` is reported at line 4 as an error marker
  const marker = page.locator('.monaco-editor .squiggly-error')
  await expect(marker.first()).toBeVisible()
  await expect(page.getByTestId('diag-status')).toHaveText(/1 error/)
  await expect(page.getByTestId('problems')).toContainText('acme/dev:4:')
  await expect(page.getByTestId('problems')).toContainText('unknown property "prot"')
  const markers = await page.evaluate(() =>
    (globalThis as unknown as { __envelopeMarkers: () => { startLineNumber: number; startColumn: number; message: string }[] }).__envelopeMarkers(),
  )
  expect(markers.map((m) => m.startLineNumber)).toEqual([4])
  expect(markers[0]?.message).toContain('prot')
  await shot(page, 'editor-error')

  // fix the typo: the marker goes away and the preview shows the interpolated value
  await typeInEditor(page, ['values:', '  host: example.com', '  port: 443', '  url: https://${host}:${port}', '  environmentVariables:', '    APP_URL: ${url}'].join('\n'))
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  await expect(page.locator('.monaco-editor .squiggly-error')).toHaveCount(0)
  await expect(page.getByTestId('var-APP_URL')).toContainText('https://example.com:443')
  await expect(page.getByTestId('values-tree')).toContainText('example.com')
  await shot(page, 'editor')
})
