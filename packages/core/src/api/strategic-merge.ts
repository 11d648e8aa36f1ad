/**
 * Strategic merge patch, the subset kubectl sends (`apply`, `set image`, `edit`).
 *
 * A plain JSON merge patch (RFC 7386) replaces lists wholesale, so
 * `kubectl apply` changing one container's image would wipe that container's
 * `ports`. Kubernetes' Go types instead tag some lists with a merge key; list
 * elements with the same key are merged like maps. We have no Go types, so the
 * merge key is chosen from the list's field name (MERGE_KEYS), which is what
 * those tags amount to for the objects Shoal serves.
 *
 * Directives honoured: `$patch: replace | delete | merge` on a map or on a list
 * element, and `$deleteFromPrimitiveList/<field>`. `$setElementOrder/<field>`
 * and `$retainKeys` are dropped: they only reorder or prune what the merge
 * already produced, and kubectl never depends on them for correctness.
 *
 * Inputs are never mutated; the result shares nothing with the patch.
 */

import { cloneJson, getOwn, isJsonEqual, isRecord } from '../store/merge-patch.ts'
import type { JsonRecord } from '../store/merge-patch.ts'

export type StrategicMergeResult =
  | { readonly ok: true, readonly value: JsonRecord }
  | { readonly ok: false, readonly message: string }

/**
 * Merge key of a list, by its field name, as the Go types tag it
 * (`patchStrategy:"merge" patchMergeKey:"…"`). `ports` is resolved by context
 * in mergeKeyFor: container ports merge by containerPort, Service ports by port.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type'
}

/** Lists of scalars tagged `patchStrategy:"merge"`: the patch adds to them (set union) rather than replacing. */
export const PRIMITIVE_MERGE_LISTS: ReadonlySet<string> = new Set(['finalizers'])

/** Lists whose elements are containers, so a `ports` inside one of their elements is a container port list. */
export const CONTAINER_LISTS: ReadonlySet<string> = new Set(['containers', 'initContainers', 'ephemeralContainers'])

const PATCH = '$patch'
const RETAIN_KEYS = '$retainKeys'
const SET_ORDER = '$setElementOrder/'
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/'

/** Raised inside the merge and turned into `{ ok: false }` at the top; never escapes this module. */
class PatchError extends Error {}

/** What the element being merged is, so `ports` can pick its merge key. */
export type MergeContext = 'container' | 'other'

/**
 * Apply a strategic merge patch to `original`. Both must be JSON objects. A
 * malformed patch (unknown `$patch`, a list element without its merge key, …)
 * is reported as `{ ok: false, message }`, which the API answers with 400/422.
 */
export function applyStrategicMergePatch (original: unknown, patch: unknown): StrategicMergeResult {
  if (!isRecord(patch)) return { ok: false, message: 'strategic merge patch must be a JSON object' }
  try {
    const merged = mergeMap(isRecord(original) ? original : {}, patch, 'other')
    return { ok: true, value: merged ?? {} }
  } catch (err) {
    if (err instanceof PatchError) return { ok: false, message: err.message }
    throw err
  }
}

/** The merge key of list `field` inside an element of kind `ctx`, or undefined for a list that is replaced whole. */
export function mergeKeyFor (field: string, ctx: MergeContext): string | undefined {
  if (field === 'ports') return ctx === 'container' ? 'containerPort' : 'port'
  return Object.hasOwn(MERGE_KEYS, field) ? MERGE_KEYS[field] : undefined
}

/** The `$patch` directive of a map, validated; undefined when there is none. */
function patchDirective (patch: JsonRecord): 'replace' | 'delete' | 'merge' | undefined {
  const d = getOwn(patch, PATCH)
  if (d === undefined) return undefined
  if (d === 'replace' || d === 'delete' || d === 'merge') return d
  throw new PatchError(`unknown $patch directive ${JSON.stringify(d)}`)
}

function isDirectiveKey (key: string): boolean {
  return key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ORDER) || key.startsWith(DELETE_PRIMITIVE)
}

/** A patch map with every directive removed, recursively, for places where there is nothing to merge into. */
function stripDirectives (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives)
  if (!isRecord(value)) return cloneJson(value)
  return Object.fromEntries(Object.entries(value)
    .filter(([k, v]) => !isDirectiveKey(k) && v !== undefined)
    .map(([k, v]) => [k, stripDirectives(v)]))
}

/**
 * Merge a patch map into an original map. Returns undefined when the patch
 * says `$patch: delete`, meaning the caller drops the map altogether.
 */
function mergeMap (original: JsonRecord, patch: JsonRecord, ctx: MergeContext): JsonRecord | undefined {
  const directive = patchDirective(patch)
  if (directive === 'delete') return undefined
  if (directive === 'replace') return stripDirectives(patch) as JsonRecord

  const out = new Map<string, unknown>(Object.entries(original))
  // Deletions from primitive lists come first, so a patch that both deletes
  // from and sets the same list sees the pruned list.
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_PRIMITIVE)) continue
    const field = key.slice(DELETE_PRIMITIVE.length)
    if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`)
    const current = out.get(field)
    if (!Array.isArray(current)) continue
    out.set(field, current.filter(v => !value.some(d => isJsonEqual(d, v))).map(v => cloneJson(v)))
  }

  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key) || value === undefined) continue
    if (value === null) {
      out.delete(key)
      continue
    }
    const merged = mergeValue(key, out.get(key), value, ctx)
    if (merged === undefined) out.delete(key)
    else out.set(key, merged)
  }
  return Object.fromEntries(out)
}

/** Merge one field's patch value into its original value; undefined removes the field. */
function mergeValue (field: string, original: unknown, patch: unknown, ctx: MergeContext): unknown {
  if (isRecord(patch)) {
    return mergeMap(isRecord(original) ? original : {}, patch, 'other')
  }
  if (Array.isArray(patch)) {
    const key = mergeKeyFor(field, ctx)
    const base = Array.isArray(original) ? original : []
    if (key !== undefined) return mergeList(field, base, patch, key)
    if (PRIMITIVE_MERGE_LISTS.has(field)) return mergePrimitiveList(base, patch)
    return stripDirectives(patch)
  }
  return cloneJson(patch)
}

/**
 * Merge a list by key: patch elements whose key matches an original element
 * are merged into it in place, new ones are appended in patch order, and
 * `$patch: delete` elements remove their match. A lone `{ $patch: replace }`
 * element makes the rest of the patch list replace the original.
 */
function mergeList (field: string, original: readonly unknown[], patch: readonly unknown[], key: string): unknown[] {
  const elementCtx: MergeContext = CONTAINER_LISTS.has(field) ? 'container' : 'other'
  const replace = patch.some(e => isRecord(e) && patchDirective(e) === 'replace')
  if (replace) {
    return patch.filter(e => !(isRecord(e) && getOwn(e, PATCH) === 'replace')).map(e => stripDirectives(e))
  }

  const out: unknown[] = original.map(e => cloneJson(e))
  for (const element of patch) {
    if (!isRecord(element)) {
      // A scalar in a keyed list is not something kubectl sends; keep it, once.
      if (!out.some(o => isJsonEqual(o, element))) out.push(cloneJson(element))
      continue
    }
    const directive = patchDirective(element)
    if (!Object.hasOwn(element, key)) {
      throw new PatchError(`an element of ${field} does not contain its merge key ${key}`)
    }
    const keyValue = element[key]
    const at = out.findIndex(o => isRecord(o) && isJsonEqual(getOwn(o, key), keyValue))
    if (directive === 'delete') {
      if (at >= 0) out.splice(at, 1)
      continue
    }
    const merged = mergeMap(at >= 0 ? out[at] as JsonRecord : {}, element, elementCtx)
    if (merged === undefined) continue
    if (at >= 0) out[at] = merged
    else out.push(merged)
  }
  return out
}

/** Set union for scalar merge lists such as finalizers; original order first. */
function mergePrimitiveList (original: readonly unknown[], patch: readonly unknown[]): unknown[] {
  const out: unknown[] = original.map(e => cloneJson(e))
  for (const e of patch) if (!out.some(o => isJsonEqual(o, e))) out.push(cloneJson(e))
  return out
}
