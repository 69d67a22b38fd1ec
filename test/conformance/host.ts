/**
 * The conformance test host, exactly as the cases' README describes the reference's: execution context
 * user USER_123, environments loaded from the case folder, the test "decrypter" (+128 mod 256), the
 * providers test / error / schema / secret-wrapper / bench and the rotators swap / echo.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { EnvironmentLoader, JsonValue, Provider, ProviderRegistry, Rotator, SecretCipher } from '../../shared/esc/index.ts'

/** Input (and output) schema of the `schema` provider, as reported by the reference in the cases' check trees. */
export const SCHEMA_PROVIDER_SCHEMA: JsonValue = {
  $defs: { defRecord: { properties: { baz: { type: 'string', const: 'qux' } }, type: 'object', required: ['baz'] } },
  properties: {
    always: true,
    anyOf: { anyOf: [{ type: 'string' }, { type: 'number' }], type: '' },
    array: { items: true, type: 'array' },
    boolean: { type: 'boolean' },
    'const-array': { type: 'array', const: ['hello', 42] },
    'const-object': { type: 'object', const: { hello: 'world' } },
    dependentReq: { properties: { bar: { type: 'number' }, foo: { type: 'string' } }, type: 'object', dependentRequired: { foo: ['bar'] } },
    double: { prefixItems: [{ type: 'string' }, { type: 'number' }], items: false, type: 'array' },
    enum: { type: 'string', enum: ['foo', 'bar'] },
    exclusiveMaximum: { type: 'number', exclusiveMaximum: 1 },
    exclusiveMinimum: { type: 'number', exclusiveMinimum: 1 },
    false: { type: 'boolean', const: false },
    hello: { type: 'string', const: 'hello' },
    map: { additionalProperties: true, type: 'object' },
    maxItems: { type: 'array', maxItems: 2 },
    maxLength: { type: 'string', maxLength: 1 },
    maxProperties: { type: 'object', maxProperties: 1 },
    maximum: { type: 'number', maximum: 1 },
    minItems: { type: 'array', minItems: 3 },
    minLength: { type: 'string', minLength: 1 },
    minProperties: { type: 'object', minProperties: 1 },
    minimum: { type: 'number', minimum: 1 },
    multiple: { type: 'number', multipleOf: 2 },
    never: false,
    null: { type: 'null' },
    number: { type: 'number' },
    oneOf: { oneOf: [{ type: 'string' }, { type: 'number' }], type: '' },
    pattern: { type: 'string', pattern: '^foo[0-9]+$' },
    pi: { type: 'number', const: 3.14 },
    record: { properties: { foo: { type: 'string' } }, type: 'object', required: ['foo'] },
    ref: { $ref: '#/$defs/defRecord', type: '' },
    string: { type: 'string' },
    triple: { prefixItems: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], items: false, type: 'array' },
    true: { type: 'boolean', const: true },
    tuple: {
      prefixItems: [
        { type: 'string', const: 'hello' },
        { type: 'string', const: 'world' },
      ],
      items: false,
      type: 'array',
    },
  },
  type: 'object',
}

export const TEST_CONTEXT = { pulumi: { user: { id: 'USER_123' } } }

/** The test key: "encrypts" by adding 128 (mod 256) to each payload byte, and decrypts the same way. */
export const testCipher: SecretCipher = {
  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return plaintext.map((b) => (b + 128) & 0xff)
  },
  async decrypt(ciphertext: Uint8Array): Promise<Uint8Array> {
    return ciphertext.map((b) => (b + 128) & 0xff)
  },
}

/**
 * Loads `<name>.yaml` from the case folder (then from the overlay folder of reconstructed fixtures that
 * the published data lacks), failing like the reference's host when the file does not exist.
 */
export function caseLoader(caseDir: string, caseName: string, overlayDir?: string): EnvironmentLoader {
  return {
    async load(name: string) {
      for (const dir of [caseDir, overlayDir ? join(overlayDir, caseName) : undefined]) {
        if (!dir) continue
        const file = join(dir, `${name}.yaml`)
        if (existsSync(file)) return { name, source: readFileSync(file, 'utf8') }
      }
      throw new Error(`open testdata/eval/${caseName}/${name}.yaml: no such file or directory`)
    },
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

type ExtProvider = Provider
type ExtRotator = Rotator

export function testProviders(opts: { benchDelayMs?: number } = {}): ProviderRegistry {
  const providers: Record<string, ExtProvider> = {
    test: {
      async open(inputs) {
        return inputs
      },
    },
    error: {
      inputsSchema: { type: 'object', properties: { why: { type: 'string' } }, required: ['why'] },
      async open(inputs) {
        throw new Error(String((inputs as { why: string }).why))
      },
    },
    schema: {
      inputsSchema: SCHEMA_PROVIDER_SCHEMA,
      outputsSchema: SCHEMA_PROVIDER_SCHEMA,
      async open(inputs) {
        return inputs
      },
    },
    'secret-wrapper': {
      secretOutput: true,
      async open(inputs) {
        return inputs
      },
    },
    bench: {
      async open() {
        const d = opts.benchDelayMs ?? 10
        await sleep(d)
        return String(d)
      },
    },
  }
  const swapState = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, required: ['a', 'b'] }
  const echoState = { type: 'object', properties: { current: { type: 'string' }, previous: { type: 'string' } }, required: ['current'] }
  const rotators: Record<string, ExtRotator> = {
    swap: {
      stateSchema: { oneOf: [swapState, { type: 'null' }] },
      outputsSchema: swapState,
      async open(_inputs, state) {
        return state ?? {}
      },
      async rotate(_inputs, state) {
        const s = (state ?? {}) as { a?: JsonValue; b?: JsonValue }
        return { a: s.b ?? null, b: s.a ?? null }
      },
    },
    echo: {
      inputsSchema: { type: 'object', properties: { next: { type: 'string' } }, required: ['next'], rotateOnly: ['next'] },
      stateSchema: { oneOf: [echoState, { type: 'null' }] },
      outputsSchema: echoState,
      async open(inputs, state) {
        if (inputs && typeof inputs === 'object' && 'next' in inputs) throw new Error('rotate-only input "next" was evaluated outside rotation')
        return state ?? {}
      },
      async rotate(inputs, state) {
        const s = (state ?? {}) as { current?: JsonValue }
        return { current: (inputs as { next: JsonValue }).next, previous: s.current ?? null }
      },
    },
  }
  return { provider: (n) => providers[n], rotator: (n) => rotators[n] }
}
