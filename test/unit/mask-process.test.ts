/**
 * A real child process, masked the way every run is (issue 12, rule 3): for any string s held as a secret,
 * `run` (the run plan's mask set through the launcher's masker) prints no line of s of 4+ characters and not
 * s itself, whether the command prints it whole, line by line with text around each line, or one line alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import fc from 'fast-check'
import type { EvalValue } from '../../shared/esc/host.ts'
import { planRun, MIN_SECRET_LINE } from '../../shared/domain/run-plan.ts'
import { launch } from '../../electron/services/launcher/index.ts'
import { MASK } from '../../electron/services/launcher/mask.ts'

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })

function collector(): { stream: Writable; text: () => string } {
  const parts: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk)
      cb()
    },
  })
  return { stream, text: () => Buffer.concat(parts).toString('utf8') }
}

const COMMANDS = [
  `printf %s "$S"`,
  `printf '%s\\n' "$S" | while IFS= read -r l; do printf '<%s>\\n' "$l"; done`,
  `printf '%s\\n' "$S" | sed -n 2p`,
  `env | sort`,
]

test('for any string s: run (masked) prints no line of s of 4+ characters (real processes)', async () => {
  const char = fc.constantFrom('a', 'b', 'Z', '0', ' ', '=', '-', '/', '+', 'é', '😀', '\t', '\n', '\r\n')
  await fc.assert(
    fc.asyncProperty(
      fc.array(char, { minLength: 3, maxLength: 60 }).map((a) => a.join('')),
      async (s) => {
        const opened = { environment: 'p/e', revision: 1, value: { environmentVariables: v({ S: v(s, { secret: true }) }) }, diagnostics: [], imports: [] }
        for (const command of COMMANDS) {
          const plan = planRun('p/e', opened, ['sh', '-c', command], { mask: true })
          const out = collector()
          const err = collector()
          const code = await launch({
            command: plan.command,
            args: plan.args,
            variables: plan.variables,
            secrets: plan.secrets,
            stdout: out.stream,
            stderr: err.stream,
            stdin: 'ignore',
          })
          assert.equal(code, 0, err.text())
          const pieces = out.text().split(MASK)
          const lines = s.split(/\r\n|\r|\n/).flatMap((l) => [l, l.trim()])
          for (const piece of pieces) {
            assert.ok(!piece.includes(s), `${command}: s printed in clear: ${JSON.stringify(out.text())}`)
            for (const l of lines)
              if (l.length >= MIN_SECRET_LINE) assert.ok(!piece.includes(l), `${command}: line ${JSON.stringify(l)} in ${JSON.stringify(out.text())}`)
          }
        }
      },
    ),
    { numRuns: 40 },
  )
})
