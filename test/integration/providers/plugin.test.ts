/**
 * External provider executables (real child processes): the example plugin as provider and rotator through
 * the registry, discovery on the plugins path, and the failure modes: timeout (the process is killed),
 * malformed output, error responses, non-zero exits with stderr, schema failures; secrets never echoed.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, symlinkSync, utimesSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createProviderRegistry, defaultPluginsPath, ProviderError } from '../../../electron/providers/index.ts'
import type { Provider, Rotator } from '../../../shared/esc/host.ts'
import { evaluatedState, sleep, tempDir, unwrap, writePlugin } from './helpers.ts'

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/provider-example/envelope-provider-example')
const ctx = { environment: 'test/plugins' }

function exampleDir(): string {
  const dir = tempDir()
  symlinkSync(EXAMPLE, join(dir, 'envelope-provider-example'))
  return dir
}

describe('external provider plugins', () => {
  it('opens the example provider found on the plugins path, with its schema and secret fields', async () => {
    const reg = createProviderRegistry({ pluginsPath: [tempDir(), exampleDir()] })
    const p = reg.provider('example') as Provider
    assert.ok(p, 'the example plugin is found in the second directory')
    assert.deepEqual((p.inputsSchema as { properties: Record<string, unknown> }).properties.length, {
      type: 'integer',
      minimum: 8,
      maximum: 256,
      description: 'random bytes in the token (default 24)',
    })
    const { json, secrets } = unwrap(await p.open({ prefix: 'tok_', length: 16 }, ctx))
    const v = json as { token: string; length: number; createdAt: string }
    assert.match(v.token, /^tok_[A-Za-z0-9_-]{22}$/)
    assert.equal(v.length, 16)
    assert.deepEqual(secrets, ['token'])
    // a second open is a new process and a new token
    const again = unwrap(await p.open({ prefix: 'tok_' }, ctx)).json as { token: string }
    assert.notEqual(again.token, v.token)
    assert.equal(reg.provider('no-such-plugin'), undefined)
    assert.equal(reg.provider('../example'), undefined, 'names with path separators are never looked up')
    const list = await reg.list()
    assert.deepEqual(
      list.map((d) => `${d.source}:${d.name}:${d.kind}`),
      ['builtin:postgres-login:provider', 'builtin:command:provider', 'builtin:postgres:rotator', 'plugin:example:provider+rotator'],
    )
  })

  it('runs the example as a rotator: rotate writes fn::secret state, open reads it back', async () => {
    const r = createProviderRegistry({ pluginsPath: [exampleDir()] }).rotator('example') as Rotator
    assert.ok(r)
    const s1 = (await r.rotate({}, {}, ctx)) as { current: { 'fn::secret': string } }
    assert.equal(typeof s1.current['fn::secret'], 'string')
    const s2 = (await r.rotate({}, evaluatedState(s1), ctx)) as { current: { 'fn::secret': string }; previous: { 'fn::secret': string } }
    assert.equal(s2.previous['fn::secret'], s1.current['fn::secret'])
    const { json, secrets } = unwrap(await r.open({}, evaluatedState(s2), ctx))
    assert.deepEqual(json, { current: s2.current['fn::secret'], previous: s1.current['fn::secret'] })
    assert.deepEqual(secrets.sort(), ['current', 'previous'])
  })

  it('discovers plugins through ENVELOPE_PLUGINS_PATH and <dataDir>/plugins, in that order', () => {
    const a = tempDir()
    const b = tempDir()
    assert.deepEqual(defaultPluginsPath({ env: { ENVELOPE_PLUGINS_PATH: `${a}:${b}` }, dataDir: '/data' }), [a, b, '/data/plugins'])
    assert.deepEqual(defaultPluginsPath({ env: { ENVELOPE_DATA_DIR: '/d2' } }), ['/d2/plugins'])
  })

  it('gives plugins ENVELOPE_PROVIDER_PROTOCOL and never the store passphrase', async () => {
    const dir = tempDir()
    writePlugin(
      dir,
      'envdump',
      `#!/bin/sh\ncat >/dev/null\nprintf '{"value": {"protocol": "%s", "passphrase": "%s"}}' "$ENVELOPE_PROVIDER_PROTOCOL" "\${ENVELOPE_PASSPHRASE-unset}"\n`,
    )
    const saved = process.env.ENVELOPE_PASSPHRASE
    process.env.ENVELOPE_PASSPHRASE = 'store-passphrase'
    try {
      const p = createProviderRegistry({ pluginsPath: [dir] }).provider('envdump') as Provider
      assert.deepEqual(unwrap(await p.open({}, ctx)).json, { protocol: '1', passphrase: 'unset' })
    } finally {
      if (saved === undefined) delete process.env.ENVELOPE_PASSPHRASE
      else process.env.ENVELOPE_PASSPHRASE = saved
    }
  })

  it('asks a plugin for its schema once per file version', async () => {
    const dir = tempDir()
    const log = join(dir, 'schema-calls')
    const script = (v: string): string =>
      `#!/bin/sh\nreq=$(cat)\ncase "$req" in *'"schema"'*) echo x >> ${log}; echo '{}'; exit 0;; esac\necho '{"value": "${v}"}'\n`
    const file = writePlugin(dir, 'counted', script('v1'))
    const reg = createProviderRegistry({ pluginsPath: [dir] })
    assert.equal(unwrap(await (reg.provider('counted') as Provider).open({}, ctx)).json, 'v1')
    assert.equal(unwrap(await (reg.provider('counted') as Provider).open({}, ctx)).json, 'v1')
    assert.equal(readFileSync(log, 'utf8'), 'x\n')
    writePlugin(dir, 'counted', script('v2-longer'))
    utimesSync(file, new Date(), new Date(Date.now() + 5000))
    assert.equal(unwrap(await (reg.provider('counted') as Provider).open({}, ctx)).json, 'v2-longer')
    assert.equal(readFileSync(log, 'utf8'), 'x\nx\n')
  })

  it('a plugin never shadows a built-in', () => {
    const dir = tempDir()
    writePlugin(dir, 'command', '#!/bin/sh\necho \'{"rotator": true}\'\n')
    const reg = createProviderRegistry({ pluginsPath: [dir] })
    const p = reg.provider('command') as Provider
    assert.equal(p.secretOutput, true, 'the built-in command provider, not the plugin')
  })

  it('returns the plugin error message, naming the plugin and request, with secret inputs scrubbed', async () => {
    const p = createProviderRegistry({ pluginsPath: [exampleDir()] }).provider('example') as Provider
    await assert.rejects(p.open({ length: 3 }, ctx), (err: Error) => {
      assert.ok(err instanceof ProviderError)
      assert.match(err.message, /^plugin "example" \(.*envelope-provider-example\): open failed: length must be an integer from 8 to 256$/)
      return true
    })
    const dir = tempDir()
    // a careless plugin that echoes its inputs in the error and on stderr
    writePlugin(
      dir,
      'leaky',
      `#!/usr/bin/env node
const req = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
if (req.request === 'schema') { console.log('{}'); process.exit(0) }
console.error('debug: got password ' + req.inputs.password)
console.log(JSON.stringify({ error: { message: 'login refused for ' + req.inputs.password } }))
process.exit(2)
`.replace("require('node:fs')", "(await import('node:fs'))"),
    )
    const leaky = createProviderRegistry({ pluginsPath: [dir] }).provider('leaky') as Provider
    await assert.rejects(leaky.open({ password: 'hunter2-very-secret' }, ctx), (err: Error) => {
      assert.match(err.message, /open failed: login refused for \[secret\]$/)
      assert.doesNotMatch(err.message, /hunter2/)
      return true
    })
  })

  it('kills a plugin that does not answer in time, with its children', async () => {
    const dir = tempDir()
    const pidFile = join(dir, 'pid')
    writePlugin(
      dir,
      'slow',
      `#!/bin/sh
req=$(cat)
case "$req" in *'"schema"'*) echo '{}'; exit 0;; esac
sleep 30 &
echo $! > ${pidFile}
wait
`,
    )
    const p = createProviderRegistry({ pluginsPath: [dir], timeoutMs: 700 }).provider('slow') as Provider
    await assert.rejects(p.open({}, ctx), /^ProviderError: plugin "slow" \(.*\): open failed: no response within 700 ms; the process was killed$/)
    const pid = Number(readFileSync(pidFile, 'utf8'))
    await sleep(100)
    // the grandchild `sleep 30` was killed too: gone, or a zombie waiting for a reaper (PID 1 in containers)
    let state = 'gone'
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?'
    } catch {
      // no such process
    }
    assert.ok(state === 'gone' || state === 'Z', `sleep 30 is still running (state ${state})`)
  })

  it('reports malformed output, empty output, a crash with stderr, and a failed schema request', async () => {
    const dir = tempDir()
    const schemaOk = `case "$req" in *'"schema"'*) echo '{"secretOutput": false}'; exit 0;; esac`
    writePlugin(dir, 'garbage', `#!/bin/sh\nreq=$(cat)\n${schemaOk}\necho 'this is not json'\n`)
    writePlugin(dir, 'novalue', `#!/bin/sh\nreq=$(cat)\n${schemaOk}\necho '{"result": 1}'\n`)
    writePlugin(dir, 'silent', `#!/bin/sh\nreq=$(cat)\n${schemaOk}\n`)
    writePlugin(dir, 'crash', `#!/bin/sh\nreq=$(cat)\n${schemaOk}\necho 'Traceback: something broke' >&2\nexit 3\n`)
    writePlugin(dir, 'badpaths', `#!/bin/sh\nreq=$(cat)\n${schemaOk}\necho '{"value": {"a": 1}, "secretPaths": "a"}'\n`)
    writePlugin(dir, 'noschema', `#!/bin/sh\ncat >/dev/null\necho '{"error": {"message": "schema not implemented"}}'\nexit 1\n`)
    const reg = createProviderRegistry({ pluginsPath: [dir] })
    const open = (name: string): Promise<unknown> => (reg.provider(name) as Provider).open({}, ctx)
    await assert.rejects(open('garbage'), /plugin "garbage" .*: open failed: malformed response: stdout is not one JSON object \(16 bytes\)$/)
    await assert.rejects(open('novalue'), /plugin "novalue" .*: open failed: malformed response: missing "value"$/)
    await assert.rejects(open('silent'), /plugin "silent" .*: open failed: empty response on stdout \(expected one JSON object\)$/)
    await assert.rejects(open('crash'), /plugin "crash" .*: open failed: exited with code 3; stderr: Traceback: something broke$/)
    await assert.rejects(open('badpaths'), /open failed: malformed response: "secretPaths" must be a list of paths/)
    await assert.rejects(open('noschema'), /plugin "noschema" .*: schema failed: schema not implemented$/)
    assert.equal(reg.rotator('garbage'), undefined, 'a plugin that does not declare rotator: true is not a rotator')
  })
})
