// Playwright: the web mode of the BUILT renderer (`npm run build` first) in Debian's Chromium, no browser
// download. Each test starts its own web-mode app server over a fresh data folder (test/e2e/fixtures.ts).
import { chromiumLaunchOptions } from './test/e2e/chromium.ts'
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    viewport: { width: 1360, height: 860 },
    trace: 'retain-on-failure',
    acceptDownloads: true,
    launchOptions: chromiumLaunchOptions,
  },
})
