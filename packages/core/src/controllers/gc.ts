import type { KubeObject, ObjectCommand, OwnerReference } from '../store/types.ts'
import { namespaceOf } from './common.ts'

/**
 * Garbage collection by ownerReferences, as Kubernetes' garbage collector
 * does it in the background (`attemptToDeleteItem`): an object none of whose
 * owners exists any more is deleted; an object with some owners gone and
 * some left has the dangling references removed. An owner "exists" when an
 * object of its kind with its uid is in the store (a uid is never reused, so
 * an owner deleted and created again under the same name is a different
 * owner). Deleting a Deployment thus removes its ReplicaSets in one round
 * and their Pods in the next: background cascading deletion.
 *
 * Only owners of the kinds handed in are judged: a reference to a kind the
 * caller did not list is assumed to be alive, so the collector never deletes
 * on a guess. Writes carry the uid (delete) or resourceVersion (patch) they
 * were computed from.
 *
 * Not here: `propagationPolicy: Orphan` and `Foreground` are the API's to
 * honour (agent/src/api/delete.ts): an orphaning delete removes the
 * dependents' ownerReferences in the same batch as the delete, and a
 * foreground one deletes the object and its whole tree of dependents in one
 * entry (there is no `foregroundDeletion` finalizer).
 */

export interface GarbageCollectorInput {
  /** Every object of each kind that may own or be owned, with the kind and the resource it is stored as. */
  readonly resources: ReadonlyArray<{ readonly kind: string, readonly resource: string, readonly items: readonly KubeObject[] }>
  /** RFC 3339, for the patches. */
  readonly now: string
}

/** The kinds and resources the control plane collects: workloads and what they make. */
export const GC_KINDS = Object.freeze([
  { kind: 'Deployment', resource: 'deployments' },
  { kind: 'ReplicaSet', resource: 'replicasets' },
  { kind: 'Pod', resource: 'pods' }
] as const)

export function collectGarbage (input: GarbageCollectorInput): ObjectCommand[] {
  const known = new Set(input.resources.map(r => r.kind))
  const alive = new Set<string>()
  for (const r of input.resources) for (const o of r.items) alive.add(`${r.kind}/${o.metadata.uid}`)
  const ownerAlive = (ref: OwnerReference): boolean => !known.has(ref.kind) || alive.has(`${ref.kind}/${ref.uid}`)
  return input.resources.flatMap(r => r.items.flatMap(o => garbageCommands(r.resource, o, ownerAlive, input.now)))
}

/**
 * What to do with one object, given which of its owners are alive
 * (`ownerAlive` says true for a kind it does not judge): delete it when
 * every owner is gone, drop the dangling references when some are, else
 * nothing. The work-queue collector asks this of one object at a time.
 */
export function garbageCommands (resource: string, o: KubeObject, ownerAlive: (ref: OwnerReference) => boolean, now: string): ObjectCommand[] {
  const refs = o.metadata.ownerReferences ?? []
  if (refs.length === 0) return []
  const dangling = refs.filter(ref => !ownerAlive(ref))
  if (dangling.length === 0) return []
  if (dangling.length === refs.length) {
    return [{ op: 'delete', resource, namespace: namespaceOf(o), name: o.metadata.name, precondition: { uid: o.metadata.uid } }]
  }
  return [{
    op: 'patch',
    resource,
    namespace: namespaceOf(o),
    name: o.metadata.name,
    patch: { metadata: { ownerReferences: refs.filter(ref => !dangling.includes(ref)) } },
    now,
    precondition: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion }
  }]
}

/** The resource a collected kind is stored as, or undefined for a kind the collector does not judge. */
export function gcResourceOf (kind: string): string | undefined {
  return GC_KINDS.find(k => k.kind === kind)?.resource
}
