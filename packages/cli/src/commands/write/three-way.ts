import { CONTAINER_LISTS, PRIMITIVE_MERGE_LISTS, mergeKeyFor, type MergeContext } from '@shoal/core/api/strategic-merge.ts'
import { cloneJson, getOwn, isJsonEqual, isRecord, type JsonRecord } from '@shoal/core/store/merge-patch.ts'

/**
 * The patch `apply` sends when the object exists: kubectl's three-way
 * strategic merge patch (CreateThreeWayMergePatch). Three inputs:
 *
 * - original: the manifest of the last apply (the last-applied annotation),
 * - modified: the manifest being applied now,
 * - current: the live object.
 *
 * The patch sets whatever `modified` says and `current` does not have yet,
 * and deletes (null, or `$patch: delete` for a list element) what `original`
 * had and `modified` dropped. Fields nobody applied (server defaults, a
 * `scale` by hand, a controller's annotations) are in neither manifest and
 * are left alone. An empty patch means the object is `unchanged`.
 *
 * Lists merge by key as the server's strategic merge patch does
 * (core/api/strategic-merge.ts), with its merge keys.
 */

type Ctx = MergeContext

/** The patch that takes `current` to `modified`, deleting what `original` had and `modified` no longer has. */
export function threeWayPatch (original: JsonRecord | undefined, modified: JsonRecord, current: JsonRecord): JsonRecord {
  return diffMap(original, modified, current, 'other')
}

/** True when the patch changes nothing. */
export function isEmptyPatch (patch: JsonRecord): boolean {
  return Object.keys(patch).length === 0
}

function diffMap (original: JsonRecord | undefined, modified: JsonRecord, current: JsonRecord, ctx: Ctx): JsonRecord {
  const patch = new Map<string, unknown>()
  for (const [key, want] of Object.entries(modified)) {
    if (want === undefined) continue
    const have = getOwn(current, key)
    const had = original === undefined ? undefined : getOwn(original, key)
    if (want === null) {
      // A null in a manifest asks for the field to be absent.
      if (have !== undefined && have !== null) patch.set(key, null)
    } else if (have === undefined || have === null) {
      patch.set(key, cloneJson(want))
    } else if (isRecord(want) && isRecord(have)) {
      const sub = diffMap(isRecord(had) ? had : undefined, want, have, 'other')
      if (!isEmptyPatch(sub)) patch.set(key, sub)
    } else if (Array.isArray(want) && Array.isArray(have)) {
      diffList(patch, key, Array.isArray(had) ? had : undefined, want, have, ctx)
    } else if (!isJsonEqual(want, have)) {
      patch.set(key, cloneJson(want))
    }
  }
  // Deletions: what the last apply set, this one no longer does, and is still there.
  if (original !== undefined) {
    for (const key of Object.keys(original)) {
      if (getOwn(modified, key) !== undefined) continue
      const have = getOwn(current, key)
      if (have !== undefined && have !== null) patch.set(key, null)
    }
  }
  return Object.fromEntries(patch)
}

function findByKey (list: readonly unknown[] | undefined, key: string, value: unknown): JsonRecord | undefined {
  return list?.find((e): e is JsonRecord => isRecord(e) && isJsonEqual(getOwn(e, key), value))
}

function diffList (patch: Map<string, unknown>, field: string, original: readonly unknown[] | undefined, modified: readonly unknown[], current: readonly unknown[], ctx: Ctx): void {
  const key = mergeKeyFor(field, ctx)
  if (key !== undefined) {
    if (!modified.every(e => isRecord(e) && getOwn(e, key) !== undefined)) {
      // Elements without their merge key cannot be merged: replace the list.
      if (!isJsonEqual(modified, current)) patch.set(field, [{ $patch: 'replace' }, ...modified.map(e => cloneJson(e))])
      return
    }
    const elementCtx: Ctx = CONTAINER_LISTS.has(field) ? 'container' : 'other'
    const out: unknown[] = []
    for (const want of modified as JsonRecord[]) {
      const id = getOwn(want, key)
      const have = findByKey(current, key, id)
      if (have === undefined) {
        out.push(cloneJson(want))
        continue
      }
      const sub = diffMap(findByKey(original, key, id), want, have, elementCtx)
      if (!isEmptyPatch(sub)) out.push({ [key]: cloneJson(id), ...sub })
    }
    for (const had of original ?? []) {
      if (!isRecord(had)) continue
      const id = getOwn(had, key)
      if (id === undefined || findByKey(modified, key, id) !== undefined || findByKey(current, key, id) === undefined) continue
      out.push({ [key]: cloneJson(id), $patch: 'delete' })
    }
    if (out.length > 0) patch.set(field, out)
    return
  }
  if (PRIMITIVE_MERGE_LISTS.has(field)) {
    const added = modified.filter(v => !current.some(c => isJsonEqual(c, v)))
    const removed = (original ?? []).filter(v => !modified.some(m => isJsonEqual(m, v)) && current.some(c => isJsonEqual(c, v)))
    if (added.length > 0) patch.set(field, added.map(v => cloneJson(v)))
    if (removed.length > 0) patch.set(`$deleteFromPrimitiveList/${field}`, removed.map(v => cloneJson(v)))
    return
  }
  if (!isJsonEqual(modified, current)) patch.set(field, modified.map(e => cloneJson(e)))
}
