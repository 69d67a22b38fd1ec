/**
 * Structural sharing for JSON-shaped data: returns `next`, except that every subtree deep-equal to the
 * one at the same place in `prev` is replaced by `prev`'s object. A new preview answer then keeps the
 * identity of everything that did not change, so memoised components (the preview tree) re-render only
 * the values an edit touched. If nothing changed, `prev` itself is returned.
 */
export function shareEqual<T>(prev: unknown, next: T): T {
  if (Object.is(prev, next)) return next
  if (prev === null || next === null || typeof prev !== 'object' || typeof next !== 'object') return next
  const pa = Array.isArray(prev)
  if (pa !== Array.isArray(next)) return next
  if (pa) {
    const p = prev as unknown[]
    const n = next as unknown as unknown[]
    let same = p.length === n.length
    const out = n.map((x, i) => {
      const y = shareEqual(p[i], x)
      if (y !== p[i]) same = false
      return y
    })
    return (same ? prev : out) as T
  }
  const p = prev as Record<string, unknown>
  const n = next as Record<string, unknown>
  const keys = Object.keys(n)
  let same = keys.length === Object.keys(p).length
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    const y = Object.prototype.hasOwnProperty.call(p, k) ? shareEqual(p[k], n[k]) : n[k]
    if (y !== p[k]) same = false
    out[k] = y
  }
  return (same ? prev : out) as T
}
