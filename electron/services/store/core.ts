/**
 * The language core's functions the store needs (shared/esc/index.ts). Loaded once, lazily, so the
 * store module can be imported (and its key handling used) even where evaluation is not needed.
 */
import type { CryptResult, EvalResult, EvaluateOptions, SecretCipher } from '../../../shared/esc/host.ts'
import { BugError } from '../../../shared/errors.ts'

export interface Core {
  evaluate(options: EvaluateOptions): Promise<EvalResult>
  encryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>
  decryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>
}

let core: Promise<Core> | undefined
const CORE = '../../../shared/esc/index.ts'

export function loadCore(): Promise<Core> {
  core ??= (import(CORE) as Promise<Core>).catch((err: unknown) => {
    core = undefined
    throw new BugError(`the language core (shared/esc/index.ts) cannot be loaded: ${(err as Error).message}`)
  })
  return core
}
