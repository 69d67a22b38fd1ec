import { test, expect, createEnv, typeInEditor, shot } from './fixtures.ts'

test('create an environment, see an interpolation error marker at its line, fix it, preview updates', async ({ app: page }) => {
  await createEnv(page, 'acme/dev')
  await typeInEditor(
    page,
    ['values:', '  host: example.com', '  port: 443', '  url: https://${host}:', '  environmentVariables:', '    APP_URL: ${url}'].join('\n'),
  )
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
  await typeInEditor(
    page,
    ['values:', '  host: example.com', '  port: 443', '  url: https://${host}:${port}', '  environmentVariables:', '    APP_URL: ${url}'].join('\n'),
  )
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  await expect(page.locator('.monaco-editor .squiggly-error')).toHaveCount(0)
  await expect(page.getByTestId('var-APP_URL')).toContainText('https://example.com:443')
  await expect(page.getByTestId('values-tree')).toContainText('example.com')
  await shot(page, 'editor')
})

test('language features: fn:: completion, hover on ${} paths, go to definition across imports', async ({ app: page }) => {
  await createEnv(page, 'acme/base')
  await typeInEditor(page, ['values:', '  domain: example.com'].join('\n'))
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/base')).toContainText('r2')

  await createEnv(page, 'acme/web')
  await typeInEditor(page, ['imports:', '  - acme/base', 'values:', '  url: https://${domain}/', '  '].join('\n'))
  await expect(page.getByTestId('values-tree')).toContainText('https://example.com/')

  // completion of builtins at a key position on the last line
  const setPos = (lineNumber: number, column: number) =>
    page.evaluate(
      ([l, c]) => {
        const ed = (globalThis as unknown as { __envelopeEditor: { setPosition(p: { lineNumber: number; column: number }): void; focus(): void } })
          .__envelopeEditor
        ed.setPosition({ lineNumber: l as number, column: c as number })
        ed.focus()
      },
      [lineNumber, column],
    )
  await setPos(5, 3)
  await page.keyboard.type('fn::')
  await page.keyboard.press('Control+Space')
  const suggest = page.locator('.monaco-editor .suggest-widget')
  await expect(suggest).toContainText('fn::secret')
  await expect(suggest).toContainText('fn::toJSON')
  await page.keyboard.press('Escape')

  // ${ path completion offers the evaluated keys (domain comes from the import)
  await typeInEditor(page, ['imports:', '  - acme/base', 'values:', '  url: https://${domain}/', '  other: ${'].join('\n'))
  await setPos(5, 12)
  await page.keyboard.press('Control+Space')
  await expect(suggest).toContainText('domain')
  await page.keyboard.press('Escape')
  await typeInEditor(page, ['imports:', '  - acme/base', 'values:', '  url: https://${domain}/'].join('\n'))

  // hover on ${domain}: its value and where it was defined
  await setPos(4, 20)
  await page.keyboard.press('ControlOrMeta+K')
  await page.keyboard.press('ControlOrMeta+I')
  const hover = page.locator('.monaco-hover:not(.hidden)')
  await expect(hover).toContainText('example.com')
  await expect(hover).toContainText('defined in acme/base at line 2')

  // F12 on ${domain} opens acme/base with the cursor on its definition (line 2); unsaved edits are guarded
  await page.keyboard.press('Escape')
  await setPos(4, 20)
  await page.keyboard.press('F12')
  await expect(page.getByTestId('dialog')).toContainText('acme/web has unsaved changes')
  await page.getByTestId('dialog-save').click()
  await expect(page.getByTestId('editor-title')).toContainText('acme/base')
  await expect
    .poll(() =>
      page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { getPosition(): { lineNumber: number } } }).__envelopeEditor.getPosition().lineNumber),
    )
    .toBe(2)
})
