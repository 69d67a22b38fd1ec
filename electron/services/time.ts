/**
 * Timestamps for stored records: `2026-11-26T13:50:17.529Z` (what `Date.prototype.toISOString` gives).
 * Built from the UTC accessors: the first `toISOString()` of a process costs ~1 ms (on the path of every
 * `envelope run`, which records audit entries), the accessors ~0.1 ms.
 */
export function isoNow(date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  const y = date.getUTCFullYear()
  if (y < 0 || y > 9999) return date.toISOString() // (its extended-year form)
  return `${p(y, 4)}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}T${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())}.${p(date.getUTCMilliseconds(), 3)}Z`
}
