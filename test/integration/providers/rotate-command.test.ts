/**
 * The `env rotate` command body over a real store (SQLite file, passphrase key) with the example plugin as
 * rotator (a real child process): output, new revision, exit status, path selection, refusals.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createServices } from '../../../electron/services/index.ts'
import type { Services } from '../../../electron/services/index.ts'
import { createProviderRegistry } from '../../../electron/providers/index.ts'
import { rotateEnvironment, runRotate } from '../../../electron/cli/commands/rotate.ts'
import { main } from '../../../electron/cli/main.ts'
import type { Cli } from '../../../electron/cli/context.ts'
import type { EvalValue } from '../../../shared/esc/host.ts'
import { tempDir, writePlugin } from './helpers.ts'

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/provider-example/envelope-provider-example')

describe('envelope env rotate (command body)', () => {
  let services: Services
  const plugins = tempDir()
  symlinkSync(EXAMPLE, join(plugins, 'envelope-provider-example'))
  // a rotator whose backend refuses every rotation
  writePlugin(
    plugins,
    'vault',
    `#!/bin/sh
req=$(cat)
case "$req" in
  *'"schema"'*) echo '{"rotator": true}' ;;
  *'"rotate"'*) echo '{"error": {"message": "vault is sealed"}}'; exit 1 ;;
  *) echo '{"value": null}' ;;
esac
`,
  )
  const providers = createProviderRegistry({ pluginsPath: [plugins] })
  before(async () => {
    services = createServices({ dataDir: tempDir(), keys: { backend: 'passphrase', passphrase: 'rotate command test' }, providers })
    await services.environments.create('demo/tokens', {
      yaml: `values:
  apiKey:
    fn::rotate::example:
      inputs: {prefix: "ak_"}
  webhook:
    secret:
      fn::rotate::example:
        inputs: {prefix: "wh_"}
  broken:
    fn::rotate::vault:
      inputs: {}
`,
    })
  })
  after(() => services?.close())

  const run = async (ref: string, paths: string[], output?: 'json'): Promise<{ code: number; text: string }> => {
    let text = ''
    const code = await runRotate(services.environments, ref, paths, { providers, ...(output ? { output } : {}), write: (t) => void (text += t) })
    return { code, text }
  }
  const values = async (): Promise<Record<string, EvalValue>> => (await services.environments.open('demo/tokens')).value ?? {}
  const str = (v: Record<string, EvalValue>, ...path: string[]): unknown => {
    let cur: EvalValue | undefined = { value: v, trace: {} }
    for (const k of path) cur = (cur?.value as Record<string, EvalValue> | undefined)?.[k]
    return cur?.value
  }

  it('rotates the selected path only and saves a revision', async () => {
    const r = await run('demo/tokens', ['apiKey'])
    assert.equal(r.code, 0)
    const lines = r.text.split('\n')
    assert.deepEqual(lines.slice(0, 2), ['  values.apiKey  succeeded', 'demo/tokens: revision 1 -> 2'])
    // other values' errors are shown too (webhook.secret has no state yet), with their position
    assert.match(lines[2] ?? '', /^error: demo\/tokens:7:7: plugin "example" \(.*\): open failed: no token yet/)
    const v = await values()
    assert.match(str(v, 'apiKey', 'current') as string, /^ak_/)
    assert.equal(str(v, 'apiKey', 'previous'), null)
  })

  it('rotates everything, reports the failure, saves the successes, exits 1', async () => {
    const before = str(await values(), 'apiKey', 'current')
    const r = await run('demo/tokens', [])
    assert.equal(r.code, 1)
    assert.match(r.text, /^ {2}values\.apiKey +succeeded$/m)
    assert.match(r.text, /^ {2}values\.webhook\.secret +succeeded$/m)
    assert.match(r.text, /^ {2}values\.broken +failed: plugin "vault" \(.*\): rotate failed: vault is sealed$/m)
    assert.match(r.text, /^demo\/tokens: revision 2 -> 3$/m)
    const v = await values()
    assert.equal(str(v, 'apiKey', 'previous'), before)
    assert.match(str(v, 'webhook', 'secret', 'current') as string, /^wh_/)
    // the stored revision holds the tokens as ciphertext only
    const stored = await services.environments.getDefinition('demo/tokens')
    assert.ok(!stored.yaml.includes(str(v, 'apiKey', 'current') as string))
  })

  it('runs as `envelope env rotate` in the CLI program (exit codes, usage errors)', async () => {
    let out = ''
    let err = ''
    const cli: Cli = {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      store: () => Promise.resolve(services.environments),
      exitCode: 0,
      interactive: false,
      color: false,
      prompt: () => Promise.resolve(undefined),
      close: () => {},
    }
    const code = await main(['env', 'rotate', 'demo/tokens', 'apiKey', 'webhook.secret'], cli)
    assert.equal(code, 0, err)
    assert.match(out, /^ {2}values\.apiKey +succeeded\n {2}values\.webhook\.secret +succeeded\ndemo\/tokens: revision \d+ -> \d+\n$/)
    out = ''
    cli.exitCode = 0
    assert.equal(await main(['env', 'rotate', 'demo/tokens', 'broken'], cli), 1)
    assert.match(out, /values\.broken +failed: plugin "vault" .*: rotate failed: vault is sealed\ndemo\/tokens: nothing saved \(revision \d+ unchanged\)\n$/)
    err = ''
    cli.exitCode = 0
    assert.equal(await main(['env', 'rotate', 'demo/tokens@1'], cli), 1)
    assert.match(
      err,
      /^error: rotate refuses versioned references \(demo\/tokens@1\): rotation always starts from the latest revision\nhint: run `envelope env rotate demo\/tokens`\n$/,
    )
  })

  it('also rotates through a service without its own rotate (public methods only), audited the same way', async () => {
    const store = services.environments
    // the same store seen as a plain EnvironmentService without `rotate`
    const plain = new Proxy(store, {
      get: (t, prop) => {
        if (prop === 'rotate') return undefined
        const v = Reflect.get(t, prop) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
      },
    })
    const before = (await store.getDefinition('demo/tokens')).revision
    const r = await rotateEnvironment(plain, 'demo/tokens', ['apiKey'], { providers })
    assert.deepEqual(
      [r.status, r.preRotationRevision, r.postRotationRevision, r.rotations],
      ['succeeded', before, before + 1, [{ path: 'values.apiKey', status: 'succeeded' }]],
    )
    const last = (await store.audit({ target: 'demo/tokens' })).find((e) => e.action === 'rotate')
    assert.deepEqual((last?.detail as { rotations: unknown }).rotations, [{ path: 'values.apiKey', status: 'succeeded' }])
  })

  it('prints JSON with --output json, and refuses versioned references and unknown paths', async () => {
    const r = await run('demo/tokens', ['webhook'], 'json')
    const j = JSON.parse(r.text) as { environment: string; status: string; preRotationRevision: number; postRotationRevision: number; rotations: unknown[] }
    assert.deepEqual(
      { environment: j.environment, status: j.status, pre: j.preRotationRevision, post: j.postRotationRevision, rotations: j.rotations },
      { environment: 'demo/tokens', status: 'succeeded', pre: 5, post: 6, rotations: [{ path: 'values.webhook.secret', status: 'succeeded' }] },
    )
    await assert.rejects(run('demo/tokens@2', []), /rotate refuses versioned references \(demo\/tokens@2\)/)
    // every rotation is in the audit log as `rotate`, with paths and statuses only
    const audit = (await services.environments.audit({ target: 'demo/tokens' })).filter((e) => e.action === 'rotate')
    assert.ok(audit.length >= 4)
    const d = audit[0]?.detail as Record<string, unknown>
    assert.deepEqual([d.preRotationRevision, d.postRotationRevision, d.rotations], [5, 6, [{ path: 'values.webhook.secret', status: 'succeeded' }]])
    assert.ok(
      audit.some((e) => e.result === 'error'),
      'the failed rotation is audited as an error',
    )
    assert.ok(!JSON.stringify(audit).includes('fn::secret'))
    await assert.rejects(run('demo/tokens', ['nope']), /no fn::rotate found at values\.nope in demo\/tokens/)
  })
})
