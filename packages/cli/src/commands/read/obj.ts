/**
 * Objects come back from the server as untyped JSON; the printers read them
 * through these helpers so that a missing field reads as Go's zero value
 * (an empty string, 0, an empty map), the way kubectl's printers see it.
 */

export type Obj = Readonly<Record<string, unknown>>

/** The map at `v`, or undefined (Go's nil pointer). */
export function maybe (v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Obj : undefined
}

export function rec (v: unknown): Obj {
  return maybe(v) ?? {}
}

export function recs (v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(rec) : []
}

export function str (v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''
}

export function strs (v: unknown): string[] {
  return Array.isArray(v) ? v.map(str) : []
}

export function num (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** `metadata` of an object. */
export function meta (o: Obj): Obj {
  return rec(o['metadata'])
}

export function nameOf (o: Obj): string {
  return str(meta(o)['name'])
}

export function namespaceOf (o: Obj): string {
  return str(meta(o)['namespace'])
}

/** The owner with `controller: true`, as `metav1.GetControllerOf` finds it. */
export function controllerOf (o: Obj): Obj | undefined {
  return recs(meta(o)['ownerReferences']).find(r => r['controller'] === true)
}

/** Sorted entries of a string map (labels, annotations, selectors). */
export function sortedEntries (v: unknown): Array<[string, string]> {
  return Object.entries(rec(v)).map(([k, x]): [string, string] => [k, str(x)]).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

/** `labels.FormatLabels`: `a=1,b=2`, `<none>` when empty. */
export function formatLabels (v: unknown): string {
  const pairs = sortedEntries(v)
  return pairs.length === 0 ? '<none>' : pairs.map(([k, x]) => `${k}=${x}`).join(',')
}

/**
 * `metav1.FormatLabelSelector`: matchLabels then matchExpressions, as the
 * selector string kubectl prints; `<none>` for a missing or empty selector.
 */
export function formatSelector (v: unknown): string {
  const s = maybe(v)
  if (s === undefined) return '<none>'
  const parts = sortedEntries(s['matchLabels']).map(([k, x]) => `${k}=${x}`)
  for (const e of recs(s['matchExpressions'])) {
    const key = str(e['key'])
    const values = strs(e['values']).join(',')
    switch (e['operator']) {
      case 'In': parts.push(`${key} in (${values})`); break
      case 'NotIn': parts.push(`${key} notin (${values})`); break
      case 'Exists': parts.push(key); break
      case 'DoesNotExist': parts.push(`!${key}`); break
      default: parts.push(`${key} ${str(e['operator'])} (${values})`)
    }
  }
  return parts.length === 0 ? '<none>' : parts.join(',')
}

/** A `spec.selector` as a `labelSelector=` query value (only matchLabels and the set operators). */
export function selectorQuery (v: unknown): string {
  const s = rec(v)
  const parts = sortedEntries(s['matchLabels']).map(([k, x]) => `${k}=${x}`)
  for (const e of recs(s['matchExpressions'])) {
    const key = str(e['key'])
    const values = strs(e['values']).join(',')
    if (e['operator'] === 'In') parts.push(`${key} in (${values})`)
    else if (e['operator'] === 'NotIn') parts.push(`${key} notin (${values})`)
    else if (e['operator'] === 'Exists') parts.push(key)
    else if (e['operator'] === 'DoesNotExist') parts.push(`!${key}`)
  }
  return parts.join(',')
}
