/**
 * Issue 12, rule 11 over the whole command tree (not only the commands the issue names): every option of every
 * command is accepted after the operands, no option is variadic (a variadic option swallows the operands after it:
 * `import d/x --secret API_KEY f.env`), `run` takes its options anywhere before `--`, and every flag a message or
 * hint names exists.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Command, Option } from 'commander'
import { buildProgram } from '../../../electron/cli/program.ts'
import { parseRunArgs } from '../../../electron/cli/run-args.ts'
import { fastRunArgs } from '../../../electron/cli/fast.ts'
import { fakeCli } from './fake-cli.ts'
import { root } from '../../integration/cli/helpers.ts'

const cli = fakeCli()

/** Every command of a fresh program, with its path (`env version history`). */
function commands(): Array<{ name: string; cmd: Command }> {
  const out: Array<{ name: string; cmd: Command }> = []
  const walk = (c: Command, prefix: string): void => {
    for (const sub of c.commands) {
      const name = `${prefix}${sub.name()}`
      out.push({ name, cmd: sub })
      walk(sub, `${name} `)
    }
  }
  walk(buildProgram(cli), '')
  return out
}

function ownOptions(cmd: Command): readonly Option[] {
  return cmd.options.filter((o) => o.long !== '--help' && o.long !== '--version')
}

/** Tokens that give option `o` a value it accepts. */
function tokens(o: Option): string[] {
  const flag = o.long ?? o.short!
  if (!o.required && !o.optional) return [flag]
  const choices = (o as Option & { argChoices?: string[] }).argChoices
  return [flag, choices?.[0] ?? '1']
}

test('every option of every command is accepted after its operands', () => {
  let checked = 0
  for (const { name } of commands()) {
    // a fresh tree per command: parsing stores option values on the command
    const cmd = commands().find((c) => c.name === name)!.cmd
    if (name === 'run' || name === 'env run') continue // pass-through after <env>: its own grammar, tested below
    const operands = cmd.registeredArguments.filter((a) => a.required).map((_, i) => `operand${i}`)
    for (const o of ownOptions(cmd)) {
      const parsed = cmd.parseOptions([...operands, ...tokens(o)])
      assert.deepEqual(parsed.unknown, [], `${name}: ${o.flags} after the operands is known`)
      assert.deepEqual(parsed.operands, operands, `${name}: ${o.flags} after the operands takes none of them`)
      checked++
    }
  }
  assert.ok(checked > 40, `checked ${checked} options`)
})

test('no option is variadic (it would swallow the operands after it)', () => {
  for (const { name, cmd } of commands()) for (const o of ownOptions(cmd)) assert.equal(o.variadic, false, `${name}: ${o.flags}`)
})

test('import: --secret/--plaintext before the file, repeatable and comma-separated', () => {
  const cmd = commands().find((c) => c.name === 'import')!.cmd
  const parsed = cmd.parseOptions(['d/x', '--secret', 'API_KEY', 'f.env', '-s', 'A,B', '--plaintext', 'C'])
  assert.deepEqual(parsed.operands, ['d/x', 'f.env'])
  assert.deepEqual(cmd.opts().secret, ['API_KEY', 'A', 'B'])
  assert.deepEqual(cmd.opts().plaintext, ['C'])
})

test('run: options anywhere before -- (around the env); without --, the command starts at its first word', () => {
  const cases: Array<[string[], { ref?: string; command: string[]; mask: boolean; unknown?: string; help?: boolean }]> = [
    [['e', '--no-mask', '--', 'env'], { ref: 'e', command: ['env'], mask: false }],
    [['--no-mask', 'e', '--', 'env'], { ref: 'e', command: ['env'], mask: false }],
    [['e', '-i', 'vim', '-i'], { ref: 'e', command: ['vim', '-i'], mask: false }],
    [['e', 'sh', '-c', 'echo --no-mask'], { ref: 'e', command: ['sh', '-c', 'echo --no-mask'], mask: true }],
    [['e', '--', '--no-mask'], { ref: 'e', command: ['--no-mask'], mask: true }],
    [['e', '--', 'cmd', '--', 'x'], { ref: 'e', command: ['cmd', '--', 'x'], mask: true }],
    [['e', '-x', 'cmd'], { ref: 'e', command: ['cmd'], mask: true, unknown: '-x' }],
    [['e', '-h'], { ref: 'e', command: [], mask: true, help: true }],
  ]
  for (const [args, want] of cases) {
    const got = parseRunArgs(args)
    assert.deepEqual(
      { ref: got.ref, command: got.command, mask: got.mask, unknown: got.unknown, help: got.help },
      { ref: want.ref, command: want.command, mask: want.mask, unknown: want.unknown, help: want.help ?? false },
      args.join(' '),
    )
  }
  // the fast path takes the same grammar (and leaves help and unknown options to commander)
  assert.deepEqual(fastRunArgs(['run', 'e', '--no-mask', '--', 'env']), { ref: 'e', command: ['env'], mask: false })
  assert.deepEqual(fastRunArgs(['run', 'e', '-i', 'sh', '-c', 'x']), { ref: 'e', command: ['sh', '-c', 'x'], mask: false })
  assert.equal(fastRunArgs(['run', 'e', '-x', 'cmd']), undefined)
})

/** Flags of other programs that messages legitimately name. */
const OTHER_PROGRAMS = new Set([
  '--wait', // VS Code's `code --wait`, added to the editor command
  '--help', // commander's own, on every command
  '--version',
])

function sources(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out.push(...sources(p))
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

test('every flag a message or hint of the CLI, services or core names is a real flag', () => {
  const real = new Set<string>(OTHER_PROGRAMS)
  for (const { cmd } of commands()) for (const o of cmd.options) if (o.long) real.add(o.long.replace(/^--no-/, '--'))
  for (const { cmd } of commands()) for (const o of cmd.options) if (o.long) real.add(o.long)
  const unknown: string[] = []
  const dirs = ['electron/cli/actions', 'electron/cli/commands', 'electron/services', 'shared'].map((d) => join(root, d))
  for (const file of dirs.flatMap(sources)) {
    const lines = readFileSync(file, 'utf8').split('\n')
    lines.forEach((line, i) => {
      const code = line.trim()
      if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return
      // flags inside string or template literals only
      for (const lit of code.match(/(['"`])(?:\\.|(?!\1).)*\1/g) ?? [])
        for (const flag of lit.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? []) {
          if (!real.has(flag)) unknown.push(`${file.slice(root.length + 1)}:${i + 1}: ${flag}`)
        }
    })
  }
  assert.deepEqual(unknown, [])
})
