/**
 * The `command` provider with real child processes: refused unless opted in (registry option or the
 * environment tag), argv run with no shell, stdout as a secret, clear errors with truncated stderr.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { ALLOW_COMMAND_TAG, commandAllowedByTags, createProviderRegistry, ProviderError } from '../../../electron/providers/index.ts'
import type { Provider } from '../../../shared/esc/host.ts'
import { tempDir, unwrap, writePlugin } from './helpers.ts'

const ctx = { environment: 'team/app' }
const allowed = (): Provider => createProviderRegistry({ pluginsPath: [], allowCommand: true, timeoutMs: 2000 }).provider('command') as Provider

describe('command provider', () => {
  it('is refused unless the environment opted in', async () => {
    const off = createProviderRegistry({ pluginsPath: [] }).provider('command') as Provider
    await assert.rejects(off.open({ argv: ['echo', 'hi'] }, ctx), (err: ProviderError) => {
      assert.ok(err instanceof ProviderError)
      assert.equal(
        err.message,
        'command: running local commands is not enabled for environment team/app (set its environment tag envelope.allow-command=true to allow it)',
      )
      assert.equal(err.hint, 'set the environment tag envelope.allow-command=true on team/app to allow fn::open::command')
      return true
    })
    // per environment: the store decides from the environment's tags
    const tags: Record<string, Record<string, string>> = { 'team/app': { [ALLOW_COMMAND_TAG]: 'true' }, 'team/other': { [ALLOW_COMMAND_TAG]: 'yes' } }
    const seen: string[] = []
    const reg = createProviderRegistry({
      pluginsPath: [],
      allowCommand: (env) => {
        seen.push(env)
        return commandAllowedByTags(tags[env])
      },
    })
    const p = reg.provider('command') as Provider
    assert.equal(unwrap(await p.open({ argv: ['echo', 'hi'] }, ctx)).json, 'hi')
    await assert.rejects(p.open({ argv: ['echo', 'hi'] }, { environment: 'team/other' }), /not enabled for environment team\/other/)
    assert.deepEqual(seen, ['team/app', 'team/other'])
    assert.equal(commandAllowedByTags({ 'envelope.allow-command': 'TRUE ' }), true)
    assert.equal(commandAllowedByTags({}), false)
  })

  it('runs argv with no shell: metacharacters reach the program verbatim', async () => {
    const dir = tempDir()
    const marker = join(dir, 'pwned')
    const tricky = `$HOME; touch ${marker} | \`id\` && echo $(whoami) *`
    const out = await allowed().open({ argv: ['printf', '%s', tricky] }, ctx)
    assert.deepEqual(unwrap(out), { json: tricky, secrets: [] }, 'a plain string: the provider is secret as a whole (secretOutput)')
    assert.equal(allowed().secretOutput, true)
    await assert.rejects(
      import('node:fs').then((fs) => fs.promises.access(marker)),
      { code: 'ENOENT' },
    )
  })

  it('passes env, trims by default, keeps whitespace with trim: false, parses json', async () => {
    const p = allowed()
    assert.equal(await p.open({ argv: ['sh', '-c', 'printf "  %s\\n\\n" "$TOKEN"'], env: { TOKEN: 'abc123' } }, ctx), 'abc123')
    assert.equal(await p.open({ argv: ['printf', ' x \n'], trim: false }, ctx), ' x \n')
    assert.deepEqual(await p.open({ argv: ['printf', '{"user":"u","password":"p"}'], format: 'json' }, ctx), { user: 'u', password: 'p' })
    await assert.rejects(p.open({ argv: ['printf', 'sekrit-not-json'], format: 'json' }, ctx), (err: Error) => {
      assert.equal(err.message, 'command: "printf" did not print valid JSON (format: json)')
      return true
    })
  })

  it("never passes Envelope's own credentials to the program", async () => {
    const saved = process.env.ENVELOPE_PASSPHRASE
    process.env.ENVELOPE_PASSPHRASE = 'store-passphrase'
    try {
      const out = await allowed().open({ argv: ['sh', '-c', 'printf "%s|%s" "${ENVELOPE_PASSPHRASE-unset}" "$HOME"'] }, ctx)
      assert.equal(out, `unset|${process.env.HOME ?? ''}`)
    } finally {
      if (saved === undefined) delete process.env.ENVELOPE_PASSPHRASE
      else process.env.ENVELOPE_PASSPHRASE = saved
    }
  })

  it('reports failures: exit code with truncated stderr, missing program, timeout, bad inputs', async () => {
    const p = allowed()
    const long = 'x'.repeat(5000)
    await assert.rejects(p.open({ argv: ['sh', '-c', `echo ${long} >&2; echo "op: item not found" >&2; exit 4`] }, ctx), (err: Error) => {
      assert.match(err.message, /^command: "sh" exited with code 4; stderr: …x+\nop: item not found$/)
      assert.ok(err.message.length < 1100, 'stderr is truncated')
      return true
    })
    await assert.rejects(p.open({ argv: ['sh', '-c', 'echo "bad token $T" >&2; exit 1'], env: { T: 'tok-secret-value' } }, ctx), (err: Error) => {
      assert.match(err.message, /stderr: bad token \[secret\]$/)
      return true
    })
    await assert.rejects(
      p.open({ argv: ['envelope-no-such-program'] }, ctx),
      /cannot run "envelope-no-such-program": not found \(is it installed and on PATH\?\)/,
    )
    await assert.rejects(p.open({ argv: ['sleep', '10'] }, ctx), /"sleep" timed out after 2000 ms and was killed/)
    await assert.rejects(p.open({ argv: [] }, ctx), /argv must be a non-empty list of strings/)
    await assert.rejects(p.open({ argv: ['echo', 'sec\0ret-value'] }, ctx), (err: Error) => {
      assert.equal(err.message, 'command: argv items must not contain NUL bytes')
      return true
    })
    await assert.rejects(p.open({ argv: ['true'], cwd: '/no/such/dir' }, ctx), /^ProviderError: command: cwd "\/no\/such\/dir" is not a directory$/)
    await assert.rejects(p.open({ argv: 'op read x' }, ctx), /argv must be a non-empty list of strings/)
    await assert.rejects(p.open({ argv: ['true'], env: { A: 1 } }, ctx), /env must be an object of string values/)
    const dir = tempDir()
    const notExec = writePlugin(dir, 'x', 'echo hi')
    await import('node:fs').then((fs) => fs.chmodSync(notExec, 0o644))
    await assert.rejects(p.open({ argv: [notExec] }, ctx), /cannot run ".*": not executable/)
  })
})
