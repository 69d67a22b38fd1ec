/**
 * Keys in environments are data: a key named `__proto__` must be an own property like any other. A plain
 * `o[k] = v` with k === '__proto__' sets the object's prototype instead and the key is lost (a value not
 * delivered exactly as stored). Every place that builds an object from user keys sets them through here.
 */
export function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
  else o[k] = v
}
