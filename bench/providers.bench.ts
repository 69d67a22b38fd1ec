/**
 * Provider open latency through the evaluator (shared/esc evaluate, mode eval): one environment with ONE
 * `fn::open` versus one with TEN independent `fn::open` calls, which the core starts in the same round so
 * they run concurrently. Each provider call takes about 20 ms or more of real work:
 *   providers.plugin.*         external plugin (examples/provider-example, a Node process) with delayMs: 20
 *   providers.command.*        built-in command provider running `sleep 0.02` (a real child process)
 *   providers.postgres-login.* built-in postgres-login: connect, create a role with VALID UNTIL and a grant
 *                              (only when ENVELOPE_TEST_PG_URL is set; the bench roles are dropped at the end)
 * Figures: median of 7 (after 2 warm-ups), in ms; `parallel_speedup` = 10 x open_1 / open_10 (ideal 10;
 * target >= 4 on 2 cores; process start-up is CPU-bound, so plugins and commands cannot reach 10 there).
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { evaluate } from '../shared/esc/index.ts'
import { cleanupExpiredLogins, createProviderRegistry } from '../electron/providers/index.ts'
import { measure } from './timing.ts'

const here = import.meta.dirname
const pluginDir = mkdtempSync(join(tmpdir(), 'envelope-bench-plugins-'))
symlinkSync(resolve(here, '../examples/provider-example/envelope-provider-example'), join(pluginDir, 'envelope-provider-example'))
const providers = createProviderRegistry({ pluginsPath: [pluginDir], allowCommand: true })
const pgUrl = process.env.ENVELOPE_TEST_PG_URL?.split('\n')
  .map((l) => l.trim())
  .filter((l) => l.startsWith('postgres'))
  .pop()

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

function doc(n: number, call: (i: number) => string): string {
  let y = 'values:\n'
  for (let i = 0; i < n; i++) y += `  p${i}:\n${call(i)}`
  return y
}

async function run(name: string, call: (i: number) => string): Promise<void> {
  const once = async (n: number): Promise<void> => {
    const r = await evaluate({ name: 'bench/providers', source: doc(n, call), mode: 'eval', providers })
    const errors = r.diagnostics.filter((d) => d.severity === 'error')
    if (errors.length) throw new Error(`${name}: ${errors[0]?.summary}`)
    if (Object.keys(r.value ?? {}).length !== n) throw new Error(`${name}: expected ${n} values`)
  }
  const { median: one } = await measure(7, () => once(1), 2)
  const { median: ten } = await measure(7, () => once(10), 2)
  console.log(`providers.${name}.open_1: ${one.toFixed(1)} ms`)
  console.log(`providers.${name}.open_10_parallel: ${ten.toFixed(1)} ms`)
  console.log(`providers.${name}.open_10_serial_estimate: ${(10 * one).toFixed(1)} ms`)
  console.log(`providers.${name}.parallel_speedup: ${((10 * one) / ten).toFixed(2)} x`)
}

try {
  await run('plugin', (i) => `    fn::open::example: {prefix: "p${i}_", delayMs: 20}\n`)
  await run('command', (i) => `    fn::open::command: {argv: [sh, -c, "sleep 0.02; echo ${i}"]}\n`)
  if (pgUrl) {
    // grants go to a schema of the bench's own, so no other table's ACL is touched
    await adminQuery(pgUrl, 'CREATE SCHEMA IF NOT EXISTS envbench; CREATE TABLE IF NOT EXISTS envbench.t (n int)')
    await run(
      'postgres-login',
      (i) => `    fn::open::postgres-login: {connection: "${pgUrl}", grant: {privileges: readonly, schemas: [envbench]}, ttl: 1m, prefix: envbench_${i}_}\n`,
    )
  } else {
    console.log('providers.postgres-login: skipped (ENVELOPE_TEST_PG_URL not set)')
  }
} finally {
  rmSync(pluginDir, { recursive: true, force: true })
  if (pgUrl) {
    for (let i = 0; i < 10; i++) await cleanupExpiredLogins(pgUrl, { prefix: `envbench_${i}_`, now: new Date(Date.now() + 3_600_000) })
    await adminQuery(pgUrl, 'DROP SCHEMA IF EXISTS envbench CASCADE')
  }
}
