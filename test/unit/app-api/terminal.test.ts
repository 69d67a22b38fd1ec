/**
 * `terminal.launch` through the dispatcher (electron/app-api/handlers.ts) over a context whose store is a
 * stand-in giving the opened environment: the terminal starts with the environment's variables and the
 * launch is audited as a `run` (`via: 'terminal'`) like every other run; an environment with errors is
 * refused with the run plan's error (shared/domain/run-plan.ts) before any terminal starts or any record.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EvalValue } from '../../../shared/esc/host.ts'
import type { EnvironmentService, OpenResult } from '../../../shared/models.ts'
import type { AuditRecord } from '../../../shared/domain/audit.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import type { Dispatcher } from '../../../electron/app-api/handlers.ts'
import { defaultTerminalCommand } from '../../../electron/app-api/terminal.ts'

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })
const environments: Record<string, OpenResult> = {
  'app/term': {
    environment: 'app/term',
    revision: 3,
    value: { environmentVariables: v({ TERM_PROBE: v('from-envelope'), PW: v('s3cret', { secret: true }) }), files: v({ F: v('x') }) },
    diagnostics: [],
    imports: [],
  },
  'app/broken': {
    environment: 'app/broken',
    revision: 2,
    value: { environmentVariables: v({ X: v('x') }) },
    diagnostics: [
      {
        severity: 'error',
        summary: 'unknown property "k"',
        range: { environment: 'app/broken', begin: { line: 5, column: 8, byte: 0 }, end: { line: 5, column: 12, byte: 0 } },
      },
    ],
    imports: ['app/base'],
  },
}

let dir: string
let d: Dispatcher
const audited: AuditRecord[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-bridge-terminal-'))
  const env = { open: async (id: string) => environments[id] } as unknown as EnvironmentService
  d = createDispatcher({
    env,
    dataDir: dir,
    mode: 'web',
    version: 'test',
    prepareRun: () => Promise.reject(new Error('not in this test')),
    recordAudit: async (e) => void audited.push(e),
  })
})
after(async () => {
  d.close()
  await rm(dir, { recursive: true, force: true })
})

async function call<T>(channel: string, req: unknown): Promise<T> {
  const r = await d.dispatch(channel, req)
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code, hint: r.error.hint })
  return r.result as T
}

test('the default terminal command per OS', () => {
  assert.equal(defaultTerminalCommand('darwin'), 'open -n -a Terminal')
  assert.equal(defaultTerminalCommand('win32'), 'wt.exe')
})

test('terminal.launch: the terminal gets the variables; the launch is audited as a run via the terminal', { skip: process.platform === 'win32' }, async () => {
  const probe = join(dir, 'probe.txt')
  const command = `sh -c 'printenv TERM_PROBE > "${probe}.tmp" && mv "${probe}.tmp" "${probe}"'`
  await call('settings.set', { terminalCommand: command })
  audited.length = 0
  assert.deepEqual(await call('terminal.launch', { id: 'app/term' }), { command })
  for (let i = 0; i < 100 && !existsSync(probe); i++) await new Promise((r) => setTimeout(r, 50))
  assert.equal(await readFile(probe, 'utf8'), 'from-envelope\n')
  assert.deepEqual(audited, [
    { action: 'run', target: 'app/term', detail: { revision: 3, command: 'sh', variables: 2, files: 0, masked: false, via: 'terminal' } },
  ])
})

test(
  'terminal.launch: an environment with errors is refused before any terminal starts, and nothing is audited',
  { skip: process.platform === 'win32' },
  async () => {
    const probe = join(dir, 'broken-probe.txt')
    await call('settings.set', { terminalCommand: `sh -c 'touch "${probe}"'` })
    audited.length = 0
    await assert.rejects(call('terminal.launch', { id: 'app/broken' }), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'invalid_input')
      assert.equal(e.message, 'cannot run app/broken: it has 1 error; first: unknown property "k" (app/broken:5:8)')
      assert.match(e.hint ?? '', /fix the errors/)
      return true
    })
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(existsSync(probe), false)
    assert.deepEqual(audited, [])
  },
)
