/**
 * The run plan (shared/domain/run-plan.ts), the one decision behind `envelope run`, the agent, the app's
 * Run screen and its terminal launch: refusal of an environment with errors, variables/files/args, the
 * mask set (property: it holds every secret leaf's text of any environment) and the audit event.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Diagnostic, EvalValue } from '../../../shared/esc/host.ts'
import type { OpenResult } from '../../../shared/models.ts'
import { UserError } from '../../../shared/errors.ts'
import { assertUsable, injectedNames, planRun, planTerminal, refusal, requireCommand, substituteArgs } from '../../../shared/domain/run-plan.ts'

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })

const values: Record<string, EvalValue> = {
  environmentVariables: v({ B: v('b'), S: v('s3cret', { secret: true }) }),
  files: v({ KUBECONFIG: v('cfg') }),
  app: v({ url: v('https://x'), token: v('tok-123', { secret: true }) }),
}
const opened = (extra: Partial<OpenResult> = {}): OpenResult => ({ environment: 'p/e', revision: 4, value: values, diagnostics: [], imports: [], ...extra })
const error = (summary: string, line = 3): Diagnostic => ({
  severity: 'error',
  summary,
  range: { environment: 'p/e', begin: { line, column: 5, byte: 0 }, end: { line, column: 9, byte: 0 } },
})

test('planRun: variables, files, substituted args, mask set and the audit event (no argument in it)', () => {
  const plan = planRun('p/e', opened(), ['/usr/bin/curl', '-H', 'Bearer ${app.token}', '${app.url}', '$${x}'], { mask: true, via: 'web' })
  assert.equal(plan.command, '/usr/bin/curl')
  assert.deepEqual(plan.args, ['-H', 'Bearer tok-123', 'https://x', '${x}'])
  assert.deepEqual(plan.variables, { B: 'b', S: 's3cret' })
  assert.deepEqual(plan.files, { KUBECONFIG: 'cfg' })
  assert.deepEqual([...plan.secrets].sort(), ['s3cret', 'tok-123'])
  assert.deepEqual(injectedNames(plan), ['B', 'KUBECONFIG', 'S'])
  assert.deepEqual(plan.audit, { action: 'run', target: 'p/e', detail: { revision: 4, command: 'curl', variables: 2, files: 1, masked: true, via: 'web' } })
  assert.ok(!JSON.stringify(plan.audit).includes('tok-123'))
})

test('planRun: the CLI records no `via`, the agent `agent: true`', () => {
  assert.deepEqual(planRun('p/e', opened(), ['env'], { mask: false }).audit.detail, { revision: 4, command: 'env', variables: 2, files: 1, masked: false })
  assert.deepEqual(planRun('p/e', opened(), ['env'], { mask: true, agent: true }).audit.detail, {
    revision: 4,
    command: 'env',
    variables: 2,
    files: 1,
    masked: true,
    agent: true,
  })
})

test('one refusal for an environment with errors: count, first error and its place; warnings do not refuse', () => {
  const bad = opened({ value: undefined, diagnostics: [{ severity: 'warning', summary: 'w' }, error('unknown property "x"'), error('second', 7)] })
  const r = refusal('p/e', bad, 'run')
  assert.equal(r?.count, 2)
  assert.equal(r?.first?.summary, 'unknown property "x"')
  assert.equal(r?.message, 'cannot run p/e: it has 2 errors; first: unknown property "x" (p/e:3:5)')
  assert.equal(refusal('p/e', opened({ value: undefined }), 'export')?.message, 'cannot export p/e: it has 1 error')
  assert.equal(refusal('p/e', opened({ diagnostics: [{ severity: 'warning', summary: 'w' }] }), 'run'), undefined)
  for (const f of [
    () => planRun('p/e', bad, ['env'], { mask: true, hint: 'fix it' }),
    () => assertUsable('p/e', bad, 'run', 'fix it'),
    () => planTerminal('p/e', bad, 'xterm', 'fix it'),
  ]) {
    assert.throws(f, (e: unknown) => e instanceof UserError && e.code === 'invalid_input' && e.message === r?.message && e.hint === 'fix it')
  }
})

test('no command given: the face hint', () => {
  assert.throws(
    () => requireCommand([], 'type a command'),
    (e: unknown) => e instanceof UserError && e.message === 'no command given' && e.hint === 'type a command',
  )
  assert.deepEqual(requireCommand(['a', 'b'], ''), { command: 'a', args: ['b'] })
})

test('${path} placeholders in arguments; $${ escapes', () => {
  assert.deepEqual(
    substituteArgs(['--url=${app.url}', '$${x}', 'plain'], (p) => `<${p}>`),
    ['--url=<app.url>', '${x}', 'plain'],
  )
})

test('planTerminal: environmentVariables only, audited as a run via the terminal (program base name, not masked)', () => {
  const plan = planTerminal('p/e', opened(), `'/opt/My Term/term' --new-tab`, '')
  assert.deepEqual(plan.variables, { B: 'b', S: 's3cret' })
  assert.deepEqual(plan.audit, {
    action: 'run',
    target: 'p/e',
    detail: { revision: 4, command: 'term', variables: 2, files: 0, masked: false, via: 'terminal' },
  })
})

/** any environment value: nested objects/arrays of scalars, some marked secret (or unknown) */
const evalValue: fc.Arbitrary<EvalValue> = fc.letrec<{ node: EvalValue }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .record({ value: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), secret: fc.boolean(), unknown: fc.boolean() })
      .map((r) => v(r.value, { secret: r.secret, ...(r.unknown ? { unknown: true } : {}) })),
    fc.record({ items: fc.array(tie('node'), { maxLength: 4 }), secret: fc.boolean() }).map((r) => v(r.items, { secret: r.secret })),
    fc
      .record({ entries: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), tie('node'), { maxKeys: 4 }), secret: fc.boolean() })
      .map((r) => v(r.entries, { secret: r.secret })),
  ),
})).node

/** every scalar text under a secret (itself or an ancestor), known, of 3 characters or more */
function secretTexts(x: EvalValue, inSecret = false, out: string[] = []): string[] {
  const s = inSecret || x.secret === true
  if (Array.isArray(x.value)) x.value.forEach((e) => secretTexts(e, s, out))
  else if (x.value !== null && typeof x.value === 'object') Object.values(x.value).forEach((e) => secretTexts(e, s, out))
  else if (s && x.value !== null && !x.unknown && String(x.value).length >= 3) out.push(String(x.value))
  return out
}

test('property: the mask set of any environment holds the text of every secret leaf (of 3 characters or more)', () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== 'environmentVariables' && k !== 'files'),
        evalValue,
        { maxKeys: 4 },
      ),
      (value) => {
        const plan = planRun('p/e', opened({ value }), ['cmd'], { mask: true })
        const mask = new Set(plan.secrets)
        for (const t of Object.values(value).flatMap((x) => secretTexts(x))) assert.ok(mask.has(t), t)
      },
    ),
  )
})
