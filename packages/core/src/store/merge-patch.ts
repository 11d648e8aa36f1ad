/**
 * JSON merge patch (RFC 7386) and the few JSON helpers the store needs.
 *
 * Everything here treats its inputs as immutable and returns new values, so a
 * patch can be tried against a stored (frozen) object and thrown away. Property
 * names are read with `Object.hasOwn` and written with `Object.fromEntries`, so
 * a key such as `__proto__` or `constructor` is plain data, never the prototype.
 */

export type JsonRecord = Record<string, unknown>

export function isRecord (v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The value of an own property, or undefined (never one inherited from Object.prototype). */
export function getOwn (obj: JsonRecord, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined
}

/**
 * Apply `patch` to `target` as RFC 7386 §2 defines it: an object patch merges
 * key by key, `null` removes a key, and anything else (arrays included)
 * replaces the target wholesale. Keys keep their position; new keys go last,
 * in the patch's order, so every replica builds the same key order.
 */
export function applyMergePatch (target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return cloneJson(patch)
  const base = isRecord(target) ? target : {}
  const out = new Map<string, unknown>(Object.entries(base))
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) out.delete(key)
    else out.set(key, applyMergePatch(out.get(key), value))
  }
  return Object.fromEntries(out)
}

/** A deep copy of a JSON value. `undefined` members are dropped, as JSON would drop them. */
export function cloneJson<T> (value: T): T {
  if (Array.isArray(value)) return value.map(v => v === undefined ? null : cloneJson(v)) as T
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, cloneJson(v)])) as T
  }
  return value
}

/** Deep equality of JSON values; key order does not matter, array order does. */
export function isJsonEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => isJsonEqual(v, b[i]))
  if (!isRecord(a) || !isRecord(b)) return false
  const ka = Object.keys(a).filter(k => a[k] !== undefined)
  const kb = Object.keys(b).filter(k => b[k] !== undefined)
  return ka.length === kb.length && ka.every(k => Object.hasOwn(b, k) && isJsonEqual(a[k], b[k]))
}

/** Freeze a JSON value and everything in it, so the store can hand it out without copying. */
export function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
