/** Diagnostics: the reference's messages, paths and positions (1-based line/column, 0-based UTF-8 byte). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluate, parseEnvironment, toJSON } from '../../../shared/esc/index.ts'
import type { Diagnostic, JsonValue, ProviderRegistry } from '../../../shared/esc/index.ts'
import { testProviders } from '../../conformance/host.ts'

const brief = (ds: Diagnostic[]) =>
  ds.map((d) => `${d.range?.begin.line}:${d.range?.begin.column}@${d.range?.begin.byte}-${d.range?.end.column} ${d.path}: ${d.summary}`)

test('positions count UTF-8 bytes, columns count characters', async () => {
  const source = 'values:\n  héllo: wörld\n  bad: ${héllo.x}\n'
  const r = await evaluate({ name: 'utf8', source, mode: 'eval' })
  // line 3 starts at byte 8 + "  héllo: wörld\n" (17 bytes) = 25; `.x` is at column 15 (character), byte 25 + 15 = 40
  assert.deepEqual(brief(r.diagnostics), ['3:15@40-17 values.bad: receiver must be an array or an object'])
  assert.equal(r.value?.['héllo'].trace.def?.begin.byte, 18)
  assert.equal(r.value?.['héllo'].trace.def?.begin.column, 10)
  assert.equal(r.value?.['héllo'].trace.def?.end.byte, 24)
})

test('interpolation syntax errors are load diagnostics with their position', () => {
  const source = [
    'values:',
    '  a: ${b',
    '  c: x ${}',
    '  d: ${e..f}',
    '  g: ${h[1}',
    '  i: ${j["k]}',
    '  l: ${[0]}',
    '  m: ${n[x]}',
    '  ok: $${literal} and ${a}',
  ].join('\n')
  const { diagnostics } = parseEnvironment('interp', source)
  assert.deepEqual(brief(diagnostics), [
    "2:6@13-9 values.a: missing closing brace '}' in interpolation",
    '3:8@24-11 values.c: Property access expressions cannot be empty',
    '4:9@36-13 values.d: property name must not be empty',
    "5:9@49-12 values.g: subscript is missing closing bracket ']'",
    `6:9@61-14 values.i: key subscript is missing closing quote '"'`,
    '7:8@74-12 values.l: the first accessor must be a property name or key subscript, not a numeric subscript',
    '8:9@87-13 values.m: numeric subscript must be a positive base-10 integer',
  ])
})

test('$${ escapes an interpolation; interpolation converts values to text', async () => {
  const source = 'values:\n  n: 42\n  b: true\n  z: null\n  o: {k: [1, "x"]}\n  s: $${n} is ${n}, ${b}, ${z}, ${o}\n  whole: ${o}\n  f: 1.50\n  ft: v${f}\n'
  const r = await evaluate({ name: 'i', source, mode: 'eval' })
  assert.deepEqual(r.diagnostics, [])
  assert.equal(toJSON(r.value?.s, { reveal: true }), '${n} is 42, true, null, {"k":[1,"x"]}')
  assert.deepEqual(toJSON(r.value?.whole, { reveal: true }), { k: [1, 'x'] })
  // numbers keep their literal text in strings (the reference keeps numbers as json.Number)
  assert.equal(toJSON(r.value?.f, { reveal: true }), 1.5)
  assert.equal(toJSON(r.value?.ft, { reveal: true }), 'v1.50')
})

test('secrets propagate through interpolation and builtins; unknowns propagate in check mode', async () => {
  const source = [
    'values:',
    '  pw: {fn::secret: hunter2}',
    '  url: postgres://u:${pw}@h',
    '  parts: {fn::split: [":", "${url}"]}',
    '  json: {fn::toJSON: {a: "${pw}"}}',
    '  b64: {fn::toBase64: "${pw}"}',
    '  plain: x',
    '  opened: {fn::open::test: {v: "${plain}"}}',
    '  derived: ${opened.v}-suffix',
  ].join('\n')
  const r = await evaluate({ name: 's', source, mode: 'eval', providers: testProviders() })
  assert.deepEqual(r.diagnostics, [])
  const red = (k: string) => toJSON(r.value?.[k], { reveal: false })
  assert.equal(red('url'), '[secret]')
  assert.deepEqual(red('parts'), '[secret]')
  assert.equal(red('json'), '[secret]')
  assert.equal(red('b64'), '[secret]')
  assert.equal(red('plain'), 'x')
  assert.equal(toJSON(r.value?.json, { reveal: true }), '{"a":"hunter2"}')
  assert.equal(toJSON(r.value?.b64, { reveal: true }), 'aHVudGVyMg==')
  assert.equal(red('derived'), 'x-suffix')
  const c = await evaluate({ name: 's', source, mode: 'check', providers: testProviders() })
  assert.deepEqual(c.diagnostics, [])
  assert.equal(toJSON(c.value?.opened, { reveal: false }), '[unknown]')
  assert.equal(toJSON(c.value?.derived, { reveal: false }), '[unknown]')
})

test('builtin argument errors have the reference messages', async () => {
  const source = [
    'values:',
    '  a: {fn::join: "x"}',
    '  b: {fn::fromJSON: "{not json"}',
    '  c: {fn::fromBase64: "!!!"}',
    '  d: {fn::open: "x"}',
    '  e: {fn::open::nope: {}}',
    '  f: {fn::secret: 1, other: 2}',
    '  g: {fn::validate: {schema: {type: string, minLength: 3}, value: ab}}',
    '  h: {fn::validate: {schema: {type: number}}}',
  ].join('\n')
  const load = parseEnvironment('b', source).diagnostics
  assert.deepEqual(brief(load), [
    '2:17@24-18 values.a["fn::join"]: the argument to fn::join must be a two-valued list',
    "5:17@107-18 values.d[\"fn::open\"]: the argument to fn::open must be an object containing 'provider' and 'inputs'",
    '7:7@144-17 values.f["fn::secret"]: illegal call to builtin function: "fn::secret" must be the only key within its containing object',
    '9:21@260-43 values.h["fn::validate"]: missing required property \'value\'',
  ])
  const r = await evaluate({ name: 'b', source, mode: 'eval', providers: testProviders() })
  const evalOnly = r.diagnostics.filter((d) => !load.some((l) => l.summary === d.summary && l.path === d.path))
  assert.deepEqual(
    evalOnly.map((d) => `${d.path}: ${d.summary}`),
    [
      'values.b["fn::fromJSON"]: decoding JSON string: ' + jsonError('{not json'),
      'values.c["fn::fromBase64"]: decoding base64 string: illegal base64 data at input byte 0',
      'values.e: unknown provider "nope"',
      'values.g["fn::validate"].value: expected a string of at least length 3',
    ],
  )
})

function jsonError(s: string): string {
  try {
    JSON.parse(s)
    return ''
  } catch (e) {
    return (e as Error).message
  }
}

test('provider failures are diagnostics on their fn::open; providers open concurrently', async () => {
  // each provider waits until the other has been called: sequential opening would time out
  let arrived = 0
  let release!: () => void
  const barrier = new Promise<void>((r) => {
    release = r
  })
  const waiting = (v: JsonValue) => async () => {
    if (++arrived === 2) release()
    await Promise.race([barrier, new Promise((_, rej) => setTimeout(() => rej(new Error('not opened concurrently')), 3000))])
    return v
  }
  const registry: ProviderRegistry = {
    provider: (n) =>
      n === 'one'
        ? { open: waiting('1') }
        : n === 'two'
          ? { open: waiting('2') }
          : n === 'boom'
            ? {
                open: async () => {
                  throw new Error('backend down')
                },
              }
            : undefined,
    rotator: () => undefined,
  }
  const source = 'values:\n  a: {fn::open::one: {}}\n  b: {fn::open::two: {}}\n  c:\n    fn::open::boom: {}\n  d: ${a}${b}\n'
  const r = await evaluate({ name: 'p', source, mode: 'eval', providers: registry })
  assert.deepEqual(brief(r.diagnostics), ['5:5@67-21 values.c: backend down'])
  assert.equal(toJSON(r.value?.d, { reveal: true }), '12')
  assert.equal(toJSON(r.value?.c, { reveal: true }), '[unknown]')
})

test('diamond imports are evaluated once; import errors are positioned on the import', async () => {
  const loads: string[] = []
  let opens = 0
  const envs: Record<string, string> = {
    left: 'imports:\n  - base\nvalues:\n  l: ${shared}\n',
    right: 'imports:\n  - base\nvalues:\n  r: ${shared}\n',
    base: 'values:\n  shared: {fn::open::count: {}}\n',
  }
  const registry: ProviderRegistry = { provider: (n) => (n === 'count' ? { open: async () => ++opens } : undefined), rotator: () => undefined }
  const loader = {
    async load(name: string) {
      loads.push(name)
      return envs[name] === undefined ? undefined : { name, source: envs[name] }
    },
  }
  const r = await evaluate({ name: 'top', source: 'imports:\n  - left\n  - right\n  - missing\n', mode: 'eval', loader, providers: registry })
  assert.deepEqual(brief(r.diagnostics), ['4:5@32-12 imports[2]: environment "missing" not found'])
  assert.equal(opens, 1)
  assert.deepEqual([...new Set(loads)].sort(), ['base', 'left', 'missing', 'right'])
  assert.equal(loads.length, 4)
  assert.deepEqual(toJSON(r.value?.l, { reveal: true }), 1)
  assert.deepEqual(toJSON(r.value?.r, { reveal: true }), 1)
  assert.deepEqual(r.imports, ['base', 'left', 'right'])
})

test('check mode never opens providers; rotate mode returns patches for the selected paths', async () => {
  let opened = 0
  const base = testProviders()
  const registry: ProviderRegistry = {
    provider: (n) => {
      const p = base.provider(n)
      return (
        p && {
          ...p,
          open: async (i, c) => {
            opened++
            return p.open(i, c)
          },
        }
      )
    },
    rotator: base.rotator,
  }
  const source =
    'values:\n  t: {fn::open::test: {a: 1}}\n  one: {fn::rotate::swap: {inputs: {}, state: {a: x, b: y}}}\n  two: {fn::rotate::swap: {inputs: {}, state: {a: p, b: q}}}\n'
  await evaluate({ name: 'r', source, mode: 'check', providers: registry })
  assert.equal(opened, 0)
  const r = await evaluate({ name: 'r', source, mode: 'rotate', providers: registry, rotatePaths: ['values.two'] })
  assert.deepEqual(r.diagnostics, [])
  assert.deepEqual(r.patches, [{ environment: 'r', path: 'values.two["fn::rotate::swap"].state', state: { a: 'q', b: 'p' } }])
  assert.deepEqual(toJSON(r.value?.one, { reveal: true }), { a: 'x', b: 'y' })
  assert.deepEqual(toJSON(r.value?.two, { reveal: true }), { a: 'q', b: 'p' })
})

test('YAML syntax errors are load diagnostics with positions', async () => {
  const r = await evaluate({ name: 'y', source: 'values:\n  a: [1, 2\n  b: c\n', mode: 'eval' })
  assert.ok(r.diagnostics.length >= 1)
  assert.ok(r.diagnostics.every((d) => d.range && d.range.environment === 'y' && d.range.begin.line >= 1))
  assert.equal(r.value, undefined)
})
