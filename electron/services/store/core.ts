/**
 * The language core's functions the store uses (shared/esc/index.ts), behind one seam so the store's
 * calls into the core are easy to find.
 */
import { decryptSecrets, encryptSecrets, evaluate } from '../../../shared/esc/index.ts'

export const core = { evaluate, encryptSecrets, decryptSecrets }
export type Core = typeof core

export async function loadCore(): Promise<Core> {
  return core
}
