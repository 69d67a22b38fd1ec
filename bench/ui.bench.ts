/**
 * UI benchmark in real Chromium against the web mode of the BUILT renderer (run `npm run build` first):
 * - ui_preview_p50 / ui_preview_p95: keystroke → live preview committed, over 100 single-character edits
 *   of a 200-value environment (target p95 < 50 ms). Measured inside the page: from the keydown to the
 *   React commit of the preview for that buffer version (renderer/src/stores/editor.ts `metrics`).
 * - ui_tti_shell: navigation start → environment list rendered and interactive.
 * - ui_tti_editor: navigation start → Monaco editor mounted with the environment's text.
 * The bridge runs as its own process (`node electron/app-api/main.ts`) over a temp data folder with a
 * passphrase key (no keychain needed).
 */
import { chromiumLaunchOptions } from '../test/e2e/chromium.ts'
import { chromium } from '@playwright/test'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const edits = 100
const valuesCount = 200

/** the Resource Timing fields read in the page (the Node-side lib types have no DOM) */
interface ResourceEntry {
  name: string
  startTime: number
  requestStart: number
  responseStart: number
  responseEnd: number
  encodedBodySize: number
  serverTiming: { name: string; duration: number }[]
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN
}

if (!existsSync(join(root, 'out/renderer/index.html'))) {
  console.error('out/renderer is missing: run `npm run build` first')
  process.exit(1)
}

const dataDir = await mkdtemp(join(tmpdir(), 'envelope-uibench-'))
const bridge = spawn(process.execPath, [join(root, 'electron/app-api/main.ts')], {
  env: { ...process.env, ENVELOPE_DATA_DIR: dataDir, ENVELOPE_PASSPHRASE: process.env.ENVELOPE_PASSPHRASE ?? 'bench' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
const url = await new Promise<string>((res, rej) => {
  let out = ''
  bridge.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d
    const m = /Envelope UI: (\S+)/.exec(out)
    if (m?.[1]) res(m[1])
  })
  bridge.once('exit', (c) => rej(new Error(`bridge exited ${c}`)))
})
const base = url.split('#')[0] as string
const token = url.split('#token=')[1] as string

// a 200-value environment: 150 plain values, 50 interpolations, exported as variables
const lines = ['values:']
for (let i = 0; i < valuesCount - 50; i++) lines.push(`  v${i}: value-${i}`)
for (let i = 0; i < 50; i++) lines.push(`  ref${i}: "\${v${i}}-\${v${i + 50}}"`)
lines.push('  environmentVariables:')
for (let i = 0; i < 20; i++) lines.push(`    VAR_${i}: \${ref${i}}`)
const yaml = lines.join('\n') + '\n'
const res = await fetch(`${base}rpc/env.create`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-envelope-token': token },
  body: JSON.stringify({ id: 'bench/big', yaml }),
})
if (!res.ok) throw new Error(`create failed: ${res.status} ${await res.text()}`)

const browser = await chromium.launch(chromiumLaunchOptions)
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 } })
  await page.goto(url)
  await page.getByTestId('env-item-bench/big').waitFor()
  const shell = await page.evaluate(() => performance.now())
  await page.getByTestId('env-item-bench/big').click()
  await page.locator('.monaco-editor .view-line').first().waitFor()
  await page.getByTestId('preview').and(page.locator('[data-stale=false]')).waitFor()
  const editorReady = await page.evaluate(() => performance.now())

  // put the cursor at the end of line 2 (`  v0: value-0`) and type characters there
  await page.evaluate(() => {
    const ed = (
      globalThis as unknown as {
        __envelopeEditor: { setPosition(p: { lineNumber: number; column: number }): void; focus(): void; getModel(): { getLineMaxColumn(l: number): number } }
      }
    ).__envelopeEditor
    ed.setPosition({ lineNumber: 2, column: ed.getModel().getLineMaxColumn(2) })
    ed.focus()
  })
  await page.evaluate(() => {
    const m = (globalThis as unknown as { __envelopeMetrics: { preview: number[]; check: number[]; render: number[] } }).__envelopeMetrics
    m.preview.length = 0
    m.check.length = 0
    m.render.length = 0
  })
  for (let i = 0; i < edits; i++) {
    const before = Number(await page.getByTestId('preview').getAttribute('data-version'))
    await page.keyboard.type(String(i % 10))
    // wait for the preview of the new buffer with a MutationObserver on the preview element: no rAF
    // polling, which would itself keep the page's main thread busy every frame and inflate the figure
    await page.evaluate(
      (v) =>
        new Promise<void>((resolve) => {
          const doc = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document
          const MO = (globalThis as unknown as { MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void; disconnect(): void } })
            .MutationObserver
          const done = () => {
            const el = doc.querySelector('[data-testid=preview]')
            return !!el && Number(el.getAttribute('data-version')) > v && el.getAttribute('data-stale') === 'false'
          }
          if (done()) return resolve()
          const mo = new MO(() => {
            if (done()) {
              mo.disconnect()
              resolve()
            }
          })
          mo.observe(doc.querySelector('[data-testid=preview]'), { attributes: true, attributeFilter: ['data-version', 'data-stale'] })
        }),
      before,
    )
  }
  const metrics = await page.evaluate(
    () => (globalThis as unknown as { __envelopeMetrics: { preview: number[]; check: number[]; render: number[] } }).__envelopeMetrics,
  )
  const lat = metrics.preview
  const rpc = await page.evaluate(
    (n) =>
      performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('rpc/env.check'))
        .slice(-n)
        .map((e) => e.duration),
    edits,
  )
  // the split of one env.check round trip: before the request left the page (queueing/connection), the
  // bridge's own work (Server-Timing: dispatch = validation + evaluation, encode = JSON), the rest of the
  // time to first byte (HTTP + process scheduling on this machine), and the body transfer
  const split = await page.evaluate(
    (n) =>
      (performance.getEntriesByType('resource') as unknown as ResourceEntry[])
        .filter((e) => e.name.includes('rpc/env.check'))
        .slice(-n)
        .map((e) => {
          const st = (name: string) => e.serverTiming.find((t) => t.name === name)?.duration ?? NaN
          return {
            queue: e.requestStart - e.startTime,
            server: st('dispatch'),
            encode: st('encode'),
            wait: e.responseStart - e.requestStart - st('dispatch') - st('encode'),
            transfer: e.responseEnd - e.responseStart,
            bytes: e.encodedBodySize,
          }
        }),
    edits,
  )
  for (const k of ['queue', 'server', 'encode', 'wait', 'transfer'] as const) {
    const xs = split.map((x) => x[k]).filter((x) => Number.isFinite(x))
    if (xs.length) console.log(`ui_check_${k}_p50: ${pct(xs, 50).toFixed(1)} ms`, `\nui_check_${k}_p95: ${pct(xs, 95).toFixed(1)} ms`)
  }
  console.log(
    `ui_check_response_bytes: ${pct(
      split.map((x) => x.bytes),
      50,
    )} bytes`,
  )
  console.log(`ui_preview_samples: ${lat.length} edits`)
  console.log(`ui_check_rpc_p50: ${pct(rpc, 50).toFixed(1)} ms (network part of env.check, Resource Timing)`)
  console.log(`ui_check_rpc_p95: ${pct(rpc, 95).toFixed(1)} ms`)
  console.log(`ui_check_call_p50: ${pct(metrics.check, 50).toFixed(1)} ms (env.check call incl. JSON decode)`)
  console.log(`ui_check_call_p95: ${pct(metrics.check, 95).toFixed(1)} ms`)
  console.log(`ui_preview_render_p50: ${pct(metrics.render, 50).toFixed(1)} ms (answer -> preview committed)`)
  console.log(`ui_preview_render_p95: ${pct(metrics.render, 95).toFixed(1)} ms`)
  console.log(`ui_load_average: ${(await import('node:os')).loadavg()[0]?.toFixed(1)} (1-min load on this machine during the run)`)
  console.log(`ui_preview_p50: ${pct(lat, 50).toFixed(1)} ms`)
  console.log(`ui_preview_p95: ${pct(lat, 95).toFixed(1)} ms (target < 50 ms)`)
  console.log(`ui_tti_shell: ${shell.toFixed(0)} ms`)
  console.log(`ui_tti_editor: ${editorReady.toFixed(0)} ms`)
} finally {
  await browser.close()
  bridge.kill('SIGTERM')
  await new Promise((r) => bridge.once('exit', r))
  await rm(dataDir, { recursive: true, force: true })
}
