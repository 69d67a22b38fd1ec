/**
 * Public surface of the pure language core (shared/esc): the types every other part codes against.
 *
 * The core is pure: no I/O, no Node built-ins, no DOM. Everything outside the document (other
 * environments, providers, rotators, keys) reaches it through the host interfaces below.
 * Implementation lives beside this file; `shared/esc/index.ts` re-exports the functions:
 *
 *   evaluate(options: EvaluateOptions): Promise<EvalResult>
 *   toJSON(value: EvalValue | undefined, opts: { reveal: boolean }): JsonValue   // secrets -> "[secret]" unless reveal, unknown -> "[unknown]"
 *   encryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>   // fn::secret: plain -> {ciphertext}, layout/comments kept
 *   decryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>   // and back
 *   parseEnvironment(name: string, source: string, limits?): { doc, diagnostics }  // positions kept, for editors
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** 1-based line and column, 0-based byte offset (UTF-8 bytes, as the reference). */
export interface Pos {
  line: number
  column: number
  byte: number
}

export interface Range {
  environment: string
  begin: Pos
  end: Pos
}

export type Severity = 'error' | 'warning'

/** Diagnostics are data: collected on results, never thrown. Messages match the reference evaluator. */
export interface Diagnostic {
  severity: Severity
  summary: string
  /** e.g. `values.a.p` (the reference's "Path") */
  path?: string
  range?: Range
}

/**
 * The detailed, typed evaluation output (the reference's esc.Value): what `--format detailed`,
 * editor hovers and go-to-definition use.
 */
export interface EvalValue {
  value: null | boolean | number | string | EvalValue[] | { [key: string]: EvalValue }
  secret?: boolean
  unknown?: boolean
  trace: { def?: Range; base?: EvalValue }
}

export interface ExecutionContext {
  /** `${context.pulumi.user.id}` etc. Free-form object merged into `context`. */
  [key: string]: JsonValue
}

/** Resolves an imported environment by name (e.g. `project/env`, `project/env@3`, `env`). */
export interface EnvironmentLoader {
  /** `syntax`: the cached form of the source's syntax tree (encodeEnvironmentDoc), when the host keeps one */
  load(name: string): Promise<{ name: string; source: string; syntax?: string } | undefined>
}

/** Encrypts/decrypts the payload of `escx` envelopes. The environment name is given for per-environment keys. */
export interface SecretCipher {
  encrypt(plaintext: Uint8Array, environment: string): Promise<Uint8Array>
  decrypt(ciphertext: Uint8Array, environment: string): Promise<Uint8Array>
  /**
   * Optional synchronous decryption, tried first by `evaluate`: returns the plaintext when the key is at
   * hand (e.g. already unwrapped), or undefined to fall back to `decrypt`. Throwing means the ciphertext
   * cannot be decrypted (reported like a `decrypt` rejection). Lets an evaluation with secrets finish in
   * one synchronous round instead of two.
   */
  decryptSync?(ciphertext: Uint8Array, environment: string): Uint8Array | undefined
}

export interface ProviderContext {
  environment: string
  signal?: AbortSignal
}

/** A dynamic source (`fn::open::<name>`). Output values may be marked secret via `secret()` helper or a provider-wide flag. */
export interface Provider {
  /** JSON schema of `inputs` (optional); validated by the core with the reference messages. */
  inputsSchema?: JsonValue
  /** Whole output is secret (like the reference's secret-wrapper). */
  secretOutput?: boolean
  /** JSON schema of the output (optional): in check mode the unknown output is typed by it. */
  outputsSchema?: JsonValue
  open(inputs: JsonValue, ctx: ProviderContext): Promise<JsonValue | EvalValue>
}

/** A rotator (`fn::rotate::<name>`): `open` returns the current credentials from state, `rotate` the new state. */
export interface Rotator {
  /** may list `rotateOnly: [names]`: inputs evaluated only during rotation */
  inputsSchema?: JsonValue
  /** JSON schema of `state` (optional), validated with the reference messages */
  stateSchema?: JsonValue
  /** JSON schema of the output (optional, check mode) */
  outputsSchema?: JsonValue
  open(inputs: JsonValue, state: JsonValue, ctx: ProviderContext): Promise<JsonValue | EvalValue>
  rotate(inputs: JsonValue, state: JsonValue, ctx: ProviderContext): Promise<JsonValue>
}

export interface ProviderRegistry {
  provider(name: string): Provider | undefined
  rotator(name: string): Rotator | undefined
}

export interface Limits {
  /** bytes of YAML source per document (default 1 MiB) */
  maxDocumentBytes: number
  /** nesting depth of values (default 64) */
  maxDepth: number
  /** import chain depth (default 32) and total imported environments (default 256) */
  maxImportDepth: number
  maxImports: number
  /** YAML alias expansions per document (default 100) */
  maxAliasCount: number
  /** longest string produced by interpolation/join/toJSON (default 4 MiB) */
  maxStringBytes: number
  /** each provider/rotator call, import load and decryption must settle within this time (default 120 s) */
  operationTimeoutMs?: number
}

export type EvalMode = 'check' | 'eval' | 'rotate'

export interface EvaluateOptions {
  name: string
  source: string
  /** the cached form of `source`'s syntax tree (encodeEnvironmentDoc): decoded instead of parsing when current */
  syntax?: string
  mode: EvalMode
  loader?: EnvironmentLoader
  providers?: ProviderRegistry
  cipher?: SecretCipher
  context?: ExecutionContext
  /** rotate mode: only these paths (e.g. `values.a.b`); default all */
  rotatePaths?: string[]
  limits?: Partial<Limits>
  signal?: AbortSignal
}

/** A state patch produced by rotation, to be written back into the document as a new revision. */
export interface RotationPatch {
  environment: string
  /** path of the `fn::rotate` call, e.g. `values.creds` */
  path: string
  state: JsonValue
}

export interface EvalResult {
  /** top-level evaluated values (undefined when loading failed) */
  value?: { [key: string]: EvalValue }
  diagnostics: Diagnostic[]
  /** environments this one imports, transitively, in evaluation order (for the import graph and audit) */
  imports: string[]
  patches?: RotationPatch[]
}

export interface CryptResult {
  text: string
  diagnostics: Diagnostic[]
}
