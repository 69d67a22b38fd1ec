/**
 * Per-test fixture: a fresh data folder (ENVELOPE_DATA_DIR in a temp dir), a real bridge process
 * (`node electron/app-api/main.ts`, the same code `envelope ui` runs) serving the built renderer, and a
 * page opened on the printed URL (token in the fragment). Renderer console errors and page errors are
 * collected and fail the test. The keychain is the real one when run under test/with-keyring.sh;
 * otherwise a passphrase key is used.
 */
import { test as base, expect } from '@playwright/test'
import type { Page } from '@playwright/test'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

export interface Envelope {
  url: string
  dataDir: string
  /** stdout+stderr of the bridge process */
  logs(): string
}

async function startWebTransport(dataDir: string): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  if (!existsSync(join(root, 'out/renderer/index.html'))) throw new Error('out/renderer is missing: run `npm run build` before the e2e tests')
  const env: NodeJS.ProcessEnv = { ...process.env, ENVELOPE_DATA_DIR: dataDir }
  if (!process.env.ENVELOPE_IN_KEYRING && !env.ENVELOPE_PASSPHRASE && !env.ENVELOPE_KEY_FILE) env.ENVELOPE_PASSPHRASE = 'e2e-passphrase'
  const child = spawn(process.execPath, [join(root, 'electron/app-api/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d))
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`bridge did not print its URL in 20 s:\n${out}`)), 20_000)
    const check = () => {
      const m = /Envelope UI: (\S+)/.exec(out)
      if (m?.[1]) {
        clearTimeout(timer)
        res(m[1])
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      rej(new Error(`bridge exited with ${code}:\n${out}`))
    })
  })
  return { child, url, logs: () => out }
}

export const test = base.extend<{ envelope: Envelope; app: Page }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures destructure their dependencies; this one has none
  envelope: async ({}, use) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'envelope-e2e-'))
    const { child, url, logs } = await startWebTransport(dataDir)
    await use({ url, dataDir, logs })
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    await rm(dataDir, { recursive: true, force: true })
  },
  app: async ({ page, envelope }, use, testInfo) => {
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console.error: ${m.text()}`)
    })
    await page.goto(envelope.url)
    await expect(page.getByTestId('env-new')).toBeVisible()
    await use(page)
    if (testInfo.status !== testInfo.expectedStatus) console.log(`bridge log:\n${envelope.logs()}`)
    // expected user errors (4xx answers the UI turns into notices/dialogs) are fine; anything else fails the test
    const unexpected = problems.filter(
      (p) => !/status of (400|404|409) \(|failed: (UserError|ConflictError)|Saving .* failed/.test(p) && !/^console\.error: (Saving|Checking|Opening) /.test(p),
    )
    expect(unexpected, 'renderer errors').toEqual([])
  },
})

export { expect }

export const shot = (page: Page, name: string) => page.screenshot({ path: join(root, 'test/e2e/screenshots', `${name}.png`) })

/**
 * Replaces the whole editor buffer through Monaco's own input paths: select all (keyboard), then a real
 * paste event carrying the text (typed newlines would be auto-indented by the editor), and waits until
 * the buffer holds exactly that text.
 */
/** Delivers a real paste event carrying `text` to the focused element (a Monaco input pastes it as is). */
export async function pasteIntoFocused(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    // in the page: a DataTransfer carrying the text, delivered as a paste event to the focused editor input
    const g = globalThis as unknown as {
      document: { activeElement: { dispatchEvent(e: unknown): boolean } | null }
      DataTransfer: new () => { setData(type: string, data: string): void }
      ClipboardEvent: new (type: string, init: { clipboardData: unknown; bubbles: boolean; cancelable: boolean }) => unknown
    }
    const dt = new g.DataTransfer()
    dt.setData('text/plain', t)
    g.document.activeElement?.dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, text)
}

export async function typeInEditor(page: Page, text: string): Promise<void> {
  const value = () => page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { getValue(): string } }).__envelopeEditor.getValue())
  await expect(async () => {
    // focus the live editor's input (not a previous editor still unmounting), select all with the keyboard
    await page.evaluate(() => (globalThis as unknown as { __envelopeEditor: { focus(): void } }).__envelopeEditor.focus())
    await expect(page.locator('.monaco-editor.focused textarea')).toBeFocused({ timeout: 2000 })
    await page.keyboard.press('ControlOrMeta+A')
    await pasteIntoFocused(page, text)
    await page.keyboard.press('Escape')
    await expect.poll(value, { timeout: 3000 }).toBe(text)
  }).toPass({ timeout: 20_000 })
}

/** Creates an environment through the UI and waits for its editor. */
export async function createEnv(page: Page, id: string): Promise<void> {
  await page.getByTestId('env-new').click()
  await page.getByTestId('dialog-input').fill(id)
  await page.getByTestId('dialog-create').click()
  await expect(page.getByTestId('editor-title')).toContainText(id)
  // the editor of THIS environment is mounted (model URIs are per environment)
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          (globalThis as unknown as { __envelopeEditor?: { getModel(): { uri: { toString(): string } } | null } }).__envelopeEditor
            ?.getModel()
            ?.uri.toString() ?? '',
      ),
    )
    .toContain(encodeURIComponent(id).replace('%2F', '/'))
}
