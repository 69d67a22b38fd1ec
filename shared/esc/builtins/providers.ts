/**
 * fn::open and fn::rotate: the builtins that call the host's providers and rotators (through
 * BuiltinHost.async, so that independent calls of one round run concurrently). Check mode calls nothing:
 * the result is unknown, typed by the provider's `outputsSchema`. Rotate mode rotates the root
 * environment's selected fn::rotate calls and records their new state as patches.
 */
import { setOwn } from '../own.ts'
import type { BuiltinExpr, Expr } from '../ast.ts'
import type { JsonValue, Provider, Range, Rotator } from '../host.ts'
import type { Schema, V } from '../value.ts'
import { containsUnknown, fromJSON, mk, plain, unknownV } from '../value.ts'
import type { BuiltinHost } from './api.ts'

export function fnOpen<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const env = h.envOf(n).name
  const name = x.provider as string
  const provider = h.opts.providers?.provider(name) as Provider | undefined
  const inputs = h.arg(n, x.inputs as Expr)
  if (!provider) {
    h.error(x, `unknown provider ${JSON.stringify(name)}`)
    return unknownV(r)
  }
  const ok = h.check(inputs, provider.inputsSchema as Schema | undefined, x.inputs as Expr)
  const outSchema = (provider.outputsSchema ?? true) as Schema
  if (!ok) return unknownV(r, outSchema)
  if (h.mode === 'check' || containsUnknown(inputs)) return unknownV(r, outSchema, provider.secretOutput)
  const args = plain(inputs)
  const res = h.async(`open:${env}:${x.path}:${JSON.stringify(args)}`, () => provider.open(args, { environment: env, signal: h.opts.signal }))
  if (!res) return unknownV(r, outSchema, provider.secretOutput)
  if (!res.ok) {
    h.error(x, res.error)
    return unknownV(r, outSchema)
  }
  return fromJSON(res.value, r, provider.secretOutput)
}

export function fnRotate<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const env = h.envOf(n)
  const name = x.provider as string
  const rotator = h.opts.providers?.rotator(name) as Rotator | undefined
  const rotating = h.mode === 'rotate' && env.isRoot && selected(h.opts.rotatePaths, x)
  let inputsX = x.inputs as Expr
  let inputsSchema = rotator?.inputsSchema as Schema | undefined
  const rotateOnly =
    rotator && inputsSchema && typeof inputsSchema === 'object' && Array.isArray(inputsSchema.rotateOnly) ? (inputsSchema.rotateOnly as string[]) : []
  if (!rotating && rotateOnly.length) {
    // rotate-only inputs are evaluated only during rotation
    if (inputsX.kind === 'object') {
      const keys = inputsX.keys.filter((k) => !rotateOnly.includes(k))
      const props = new Map([...inputsX.props].filter(([k]) => !rotateOnly.includes(k)))
      inputsX = { ...inputsX, keys, props }
    }
    if (inputsSchema && typeof inputsSchema === 'object') {
      const s = { ...inputsSchema }
      if (Array.isArray(s.required)) s.required = (s.required as string[]).filter((k) => !rotateOnly.includes(k))
      if (s.properties && typeof s.properties === 'object') {
        s.properties = Object.fromEntries(Object.entries(s.properties).filter(([k]) => !rotateOnly.includes(k)))
      }
      inputsSchema = s
    }
  }
  const inputs = h.arg(n, inputsX)
  const state = x.state ? h.arg(n, x.state) : mk(null, r)
  if (!rotator) {
    h.error(x, `unknown rotator ${JSON.stringify(name)}`)
    return unknownV(r)
  }
  let ok = h.check(inputs, inputsSchema, inputsX)
  if (rotator.stateSchema !== undefined) {
    const stateLoc = x.state ?? x.arg
    if (!h.check(state, rotator.stateSchema as Schema, stateLoc)) ok = false
  }
  const outSchema = (rotator.outputsSchema ?? true) as Schema
  if (!ok) return unknownV(r, outSchema)
  if (h.mode === 'check' || containsUnknown(inputs) || containsUnknown(state)) return unknownV(r, outSchema)
  const args = plain(inputs)
  const st = plain(state)
  const ctx = { environment: env.name, signal: h.opts.signal }
  if (rotating) {
    const rot = h.async(`rotate:${env.name}:${x.path}`, () => rotator.rotate(args, st, ctx))
    if (!rot) return unknownV(r, outSchema)
    if (!rot.ok) {
      h.error(x, `rotate: ${rot.error}`)
      return unknownV(r, outSchema)
    }
    const newState = rot.value as JsonValue
    h.patch({ environment: env.name, path: `${x.arg.path}.state`, state: newState })
    // the rotated credentials are the new state (the rotator's open is not called with rotate-only inputs)
    return stateValue(newState, r)
  }
  const res = h.async(`rotopen:${env.name}:${x.path}:${JSON.stringify(args)}:${JSON.stringify(st)}`, () => rotator.open(args, st, ctx))
  if (!res) return unknownV(r, outSchema)
  if (!res.ok) {
    h.error(x, res.error)
    return unknownV(r, outSchema)
  }
  return fromJSON(res.value, r)
}

/** Is the call at `x` one of the paths to rotate (all of them when none is given)? */
function selected(paths: string[] | undefined, x: BuiltinExpr): boolean {
  if (!paths || paths.length === 0) return true
  return paths.some((p) => p === x.path || x.path.startsWith(p + '.') || x.path.startsWith(p + '['))
}

/**
 * A rotator's new state as a value. Rotators mark secret fields of the state as `{"fn::secret": "<plaintext>"}`
 * (the store then encrypts them when it writes the state back into the document): those are secret strings.
 */
function stateValue(j: JsonValue, def: Range): V {
  if (Array.isArray(j))
    return mk(
      j.map((x) => stateValue(x, def)),
      def,
    )
  if (j !== null && typeof j === 'object') {
    const keys = Object.keys(j)
    const s = j['fn::secret']
    if (keys.length === 1 && typeof s === 'string') return mk(s, def, true)
    const o: Record<string, V> = {}
    for (const k of keys) setOwn(o, k, stateValue(j[k] as JsonValue, def))
    return mk(o, def)
  }
  return fromJSON(j, def)
}
