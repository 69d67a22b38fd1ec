/**
 * Multi-line secrets in the app (issue 12, rule 3): a `|` block secret followed by another key saves; the
 * editor masks block, next-line and mis-nested secrets over all their lines; a mis-nested secret is not shown
 * in clear in the preview; the "vs unsaved buffer" diff shows typed secrets encrypted like the stored side;
 * and a run masks each line of a multi-line secret (`env | sort`, `sed -n 2p`).
 */
import { test, expect, createEnv, typeInEditor } from './fixtures.ts'
import type { Page } from '@playwright/test'

/** The text under the editor's secret masks, one entry per masked range. */
function maskedTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const ed = (
      globalThis as unknown as {
        __envelopeEditor: {
          getModel(): { getAllDecorations(): { range: unknown; options: { inlineClassName?: string | null } }[]; getValueInRange(r: unknown): string }
        }
      }
    ).__envelopeEditor
    const model = ed.getModel()
    return model
      .getAllDecorations()
      .filter((d) => d.options.inlineClassName === 'secret-mask')
      .map((d) => model.getValueInRange(d.range))
  })
}

const PEM = ['-----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj', '-----END PRIVATE KEY-----']

test('a block secret followed by a key saves; editor, preview and diff never show multi-line secrets; run masks each line', async ({ app: page }) => {
  await createEnv(page, 'acme/pem')
  await typeInEditor(
    page,
    [
      'values:',
      '  key:',
      '    fn::secret: |',
      ...PEM.map((l) => `      ${l}`),
      '  note:',
      '    fn::secret:',
      '      next-line-secret',
      '  environmentVariables:',
      '    KEY: ${key}',
      '    AFTER: plain-after',
    ].join('\n'),
  )
  await expect(page.getByTestId('diag-status')).toHaveText('no errors')
  // every line of the block and the next-line value are masked
  await expect
    .poll(async () => {
      const masked = (await maskedTexts(page)).join('\n')
      return [...PEM, 'next-line-secret'].filter((l) => !masked.includes(l))
    })
    .toEqual([])
  await page.getByTestId('save').click()
  await expect(page.getByTestId('env-item-acme/pem')).toContainText('r2')

  // run: each line of the PEM printed on its own is masked
  await page.getByTestId('tab-run').click()
  await page.getByTestId('run-command').fill(`sh -c 'env | sort; printf %s "$KEY" | sed -n 2p'`)
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-status')).toHaveText('exited with code 0')
  const out = page.getByTestId('run-output')
  await expect(out).toContainText('AFTER=plain-after')
  for (const l of PEM) await expect(out).not.toContainText(l)

  // typed, unsaved: a new block secret and a mis-nested one
  await page.getByTestId('tab-editor').click()
  await typeInEditor(
    page,
    [
      'values:',
      '  key:',
      '    fn::secret: |',
      '      typed-line-one',
      '      typed-line-two',
      '  bad:',
      '    fn::secret: mis-nested-secret',
      '    other: 1',
    ].join('\n'),
  )
  await expect(page.getByTestId('values-tree')).toContainText('other')
  await expect(page.getByTestId('values-tree')).not.toContainText('mis-nested-secret')
  await expect
    .poll(async () => {
      const masked = (await maskedTexts(page)).join('\n')
      return ['typed-line-one', 'typed-line-two', 'mis-nested-secret'].filter((l) => !masked.includes(l))
    })
    .toEqual([])

  // history: revision vs unsaved buffer, secrets shown encrypted on both sides
  await page.getByTestId('tab-history').click()
  // the first diff (the latest revisions) is on screen before another is asked for: two diffs asked for within a
  // moment trip a race in Monaco's diff editor (a known issue, see docs/screens.md), which this test is not about
  await expect(page.getByTestId('diff-labels')).not.toContainText('Pick two revisions')
  await expect(page.getByTestId('diff-editor').locator('.editor.modified .view-lines')).toBeVisible()
  await page.waitForTimeout(300)
  await page.getByTestId('diff-buffer').click()
  await expect(page.getByTestId('diff-labels')).toContainText('unsaved buffer')
  const modified = page.getByTestId('diff-editor').locator('.editor.modified')
  await expect(modified).toContainText('encrypted when saved')
  for (const t of ['typed-line-one', 'typed-line-two', 'mis-nested-secret']) await expect(modified).not.toContainText(t)
})
