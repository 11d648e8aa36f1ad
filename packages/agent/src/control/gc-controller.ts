import type { KubeObject, OwnerReference, WatchEventType } from '@shoal/core'
import { garbageCommands, GC_KINDS, gcResourceOf } from '@shoal/core/controllers/gc.ts'
import { namespaceOf, objectKey } from '@shoal/core/controllers/common.ts'
import { listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

/**
 * The garbage collector on a work queue, after Kubernetes' (its graph
 * builder and attemptToDelete queue): keyed by object
 * (`resource/namespace/name`). The collector keeps an index from each owner
 * uid to the objects that name it, fed by the watches. An object that
 * arrives or changes with an owner that is not there is queued; an owner's
 * deletion queues the objects that named it. A key's reconcile is the pure
 * garbageCommands over that one object, each owner looked up by name and
 * judged by uid. A change to an object whose owners all exist costs a few
 * lookups and no reconcile.
 */

const keyOf = (resource: string, o: KubeObject): string => `${resource}/${objectKey(o)}`

function partsOf (key: string): [string, string, string] {
  const a = key.indexOf('/')
  const b = key.indexOf('/', a + 1)
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)]
}

export function createGarbageCollector (c: ControllerDeps): StoreController {
  /** Owner uid → the keys of the objects that name it; and each key's owner uids, to take it out again. */
  const dependents = new Map<string, Set<string>>()
  const ownersOf = new Map<string, readonly string[]>()

  const index = (key: string, o: KubeObject | undefined): void => {
    for (const uid of ownersOf.get(key) ?? []) {
      const set = dependents.get(uid)
      set?.delete(key)
      if (set?.size === 0) dependents.delete(uid)
    }
    const uids = o === undefined ? [] : (o.metadata.ownerReferences ?? []).map(r => r.uid)
    if (uids.length === 0) {
      ownersOf.delete(key)
      return
    }
    ownersOf.set(key, uids)
    for (const uid of uids) {
      const set = dependents.get(uid)
      if (set === undefined) dependents.set(uid, new Set([key]))
      else set.add(key)
    }
  }

  /** Whether the owner `ref` names, in `namespace`, is there with its uid (a kind not collected counts as there). */
  const ownerAlive = (namespace: string) => (ref: OwnerReference): boolean => {
    const resource = gcResourceOf(ref.kind)
    return resource === undefined || c.store().get(resource, namespace, ref.name)?.metadata.uid === ref.uid
  }

  const reconcile = async (key: string): Promise<undefined> => {
    const [resource, namespace, name] = partsOf(key)
    const o = c.store().get(resource, namespace, name)
    if (o === undefined) return undefined
    await writeAll(c.write, garbageCommands(resource, o, ownerAlive(namespace), c.now()), key)
    return undefined
  }

  const handler = (resource: string) => (type: WatchEventType, o: KubeObject): readonly string[] => {
    const key = keyOf(resource, o)
    if (type === 'DELETED') {
      index(key, undefined)
      return [...dependents.get(o.metadata.uid) ?? []]
    }
    index(key, o)
    const refs = o.metadata.ownerReferences ?? []
    return refs.length > 0 && !refs.every(ownerAlive(namespaceOf(o))) ? [key] : []
  }

  return storeController(c, {
    name: 'garbagecollector',
    reconcile,
    // A resync rebuilds the index from the store and looks at every owned object.
    keys: () => {
      dependents.clear()
      ownersOf.clear()
      const keys: string[] = []
      for (const { resource } of GC_KINDS) {
        for (const o of listOf(c.store(), resource)) {
          if ((o.metadata.ownerReferences ?? []).length === 0) continue
          const key = keyOf(resource, o)
          index(key, o)
          keys.push(key)
        }
      }
      return keys
    },
    handlers: Object.fromEntries(GC_KINDS.map(({ resource }) => [resource, handler(resource)]))
  })
}
