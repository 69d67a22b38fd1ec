/**
 * fn::secret: a plaintext (`fn::secret: text`, before the store encrypts it) is a secret string as it is;
 * a ciphertext (`fn::secret: {ciphertext: …}`) is decrypted by the host's cipher. Check mode validates the
 * envelope but decrypts nothing (no key needed).
 */
import type { BuiltinExpr } from '../ast.ts'
import { decodeEnvelope } from '../envelope.ts'
import { zeroRange } from '../source.ts'
import type { V } from '../value.ts'
import { mk, unknownV } from '../value.ts'
import type { BuiltinHost } from './api.ts'
import { errorMessage, STRING } from './api.ts'

const utf8 = new TextDecoder('utf-8', { fatal: false })

export function fnSecret<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  if (x.ciphertext !== undefined) return decrypt(h, n, x)
  if (x.invalid) return mk('', zeroRange(h.envOf(n).name), true)
  return mk(x.plaintext ?? '', x.arg.range, true)
}

function decrypt<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const cipher = h.opts.cipher
  const env = h.envOf(n).name
  const ct = x.ciphertext as string
  let payload: Uint8Array
  try {
    payload = decodeEnvelope(ct)
  } catch (e) {
    h.error(x, `invalid ciphertext: ${errorMessage(e)}`)
    return unknownV(x.range, STRING, true)
  }
  // check mode validates the envelope but does not decrypt (no key needed)
  if (h.mode === 'check') return unknownV(x.range, STRING, true)
  if (!cipher) {
    h.error(x, 'decrypting: no key available for this environment')
    return unknownV(x.range, STRING, true)
  }
  const key = `decrypt:${env}:${ct}`
  if (cipher.decryptSync) {
    // the host may have the key at hand: no asynchronous round needed
    h.settleNow(key, () => {
      const plain = cipher.decryptSync?.(payload, env)
      return plain === undefined ? undefined : utf8.decode(plain)
    })
  }
  const res = h.async(key, async () => utf8.decode(await cipher.decrypt(payload, env)))
  if (!res) return unknownV(x.range, STRING, true)
  if (!res.ok) {
    h.error(x, `decrypting: ${res.error}`)
    return unknownV(x.range, STRING, true)
  }
  return mk(res.value, x.range, true)
}
