/** The conformance runner itself: it passes the reference's cases and notices a wrong expectation. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCase } from '../../conformance/run.ts'

const CASES = resolve(dirname(fileURLToPath(import.meta.url)), '../../esc-conformance/cases')

test('a reference case passes', async () => {
  assert.deepEqual(await runCase(join(CASES, 'interp')), [])
  assert.deepEqual(await runCase(join(CASES, 'rotate-state')), [])
})

test('a changed expectation is reported as a failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'esc-case-'))
  try {
    const c = join(dir, 'cycle')
    cpSync(join(CASES, 'cycle'), c, { recursive: true })
    const expected = JSON.parse(readFileSync(join(c, 'expected.json'), 'utf8'))
    expected.evalJsonRedacted.a.p = 'something else'
    expected.checkDiags[0].Subject.Start.Column = 99
    writeFileSync(join(c, 'expected.json'), JSON.stringify(expected))
    const failures = await runCase(c)
    assert.equal(failures.length, 2, failures.join('\n'))
    assert.match(failures[0], /checkDiags differ/)
    assert.match(failures[1], /evalJsonRedacted differs/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
