import type { KubeObject } from '../store/types.ts'
import { isImageID } from './inventory.ts'

/**
 * What users said of an image name, kept in the replicated store (one object
 * per name, resource `clusterimages`, kind ClusterImage):
 * - `shoal image push` pins the name to an ID: when nodes hold different
 *   images under that name, the pushed one is the cluster's copy, whatever
 *   the count of nodes holding each;
 * - `shoal image rm` withdraws the IDs the name had: no node serves them or
 *   fetches them for that name, and nodes drop the name from their engines
 *   where no container uses it. A later push of one of them serves it again.
 * The inventory itself (who holds what) is in the Nodes' status.images.
 */

export const IMAGE_RECORDS = Object.freeze({ resource: 'clusterimages', apiVersion: 'shoal.dev/v1', kind: 'ClusterImage' } as const)

export interface ImageRecord {
  /** The canonical name (inventory.ts's imageKey). */
  readonly image: string
  /** The pushed ID, if the name is pinned. */
  readonly id?: string
  /** IDs withdrawn under this name (never the pinned one). */
  readonly withdrawn: readonly string[]
}

const hex = (s: string): string => [...new TextEncoder().encode(s)].map(b => b.toString(16).padStart(2, '0')).join('')

/** The store name of a name's record: the name in hex, as image names hold `/` and `:`, which object names may not. */
export function imageRecordName (key: string): string {
  return `image-${hex(key)}`
}

/** The record an object holds, or undefined when it is not a well-formed one. */
export function imageRecordOf (obj: KubeObject | undefined): ImageRecord | undefined {
  const spec = obj?.spec as { image?: unknown, id?: unknown, withdrawn?: unknown } | undefined
  if (spec === undefined || typeof spec.image !== 'string') return undefined
  const withdrawn = Array.isArray(spec.withdrawn) ? spec.withdrawn.filter((x): x is string => typeof x === 'string' && isImageID(x)) : []
  return typeof spec.id === 'string' && isImageID(spec.id) ? { image: spec.image, id: spec.id, withdrawn } : { image: spec.image, withdrawn }
}

/** The records of a list of ClusterImage objects, by name. */
export function imageRecords (objects: readonly KubeObject[]): Map<string, ImageRecord> {
  const out = new Map<string, ImageRecord>()
  for (const o of objects) {
    const r = imageRecordOf(o)
    if (r !== undefined) out.set(r.image, r)
  }
  return out
}

/** `key` pushed as `id`: pinned, and no longer withdrawn. */
export function pushedRecord (prev: ImageRecord | undefined, key: string, id: string): ImageRecord {
  return { image: key, id, withdrawn: (prev?.withdrawn ?? []).filter(w => w !== id) }
}

/** `key` removed: every ID it had (`ids`, what nodes report under it, and the pinned one) withdrawn, nothing pinned. */
export function removedRecord (prev: ImageRecord | undefined, key: string, ids: readonly string[]): ImageRecord {
  const all = new Set([...(prev?.withdrawn ?? []), ...ids, ...(prev?.id !== undefined ? [prev.id] : [])])
  return { image: key, withdrawn: [...all].sort() }
}

/** The object that stores a record. */
export function imageRecordObject (r: ImageRecord): { apiVersion: string, kind: string, metadata: { name: string }, spec: ImageRecord } {
  return { apiVersion: IMAGE_RECORDS.apiVersion, kind: IMAGE_RECORDS.kind, metadata: { name: imageRecordName(r.image) }, spec: r }
}

/** Whether `id` is withdrawn under `key`. */
export function isWithdrawn (records: ReadonlyMap<string, ImageRecord>, key: string, id: string): boolean {
  return records.get(key)?.withdrawn.includes(id) ?? false
}

/**
 * Whether a node serves `id` to others: not when every name it is known by
 * withdrew it. `names` are the names this engine holds it under; an image
 * whose only name was removed (kept for a pod that uses it) is not served.
 */
export function isServed (records: ReadonlyMap<string, ImageRecord>, id: string, names: readonly string[]): boolean {
  if (names.length === 0) return ![...records.values()].some(r => r.withdrawn.includes(id))
  return names.some(n => !isWithdrawn(records, n, id))
}
