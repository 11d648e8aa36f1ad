import type { KubeObject, ObjectCommand } from '../store/types.ts'
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
 * Not here: `propagationPolicy: Orphan` is the API's to honour (it removes
 * the dependents' ownerReferences, in the same batch as the delete, before
 * the owner goes), and foreground deletion (the `foregroundDeletion`
 * finalizer, owner kept until blocking dependents are gone) is not
 * supported: a foreground delete acts as a background one.
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
  const commands: ObjectCommand[] = []
  for (const r of input.resources) {
    for (const o of r.items) {
      const refs = o.metadata.ownerReferences ?? []
      if (refs.length === 0) continue
      const dangling = refs.filter(ref => known.has(ref.kind) && !alive.has(`${ref.kind}/${ref.uid}`))
      if (dangling.length === 0) continue
      if (dangling.length === refs.length) {
        commands.push({ op: 'delete', resource: r.resource, namespace: namespaceOf(o), name: o.metadata.name, precondition: { uid: o.metadata.uid } })
        continue
      }
      const solid = refs.filter(ref => !dangling.includes(ref))
      commands.push({
        op: 'patch',
        resource: r.resource,
        namespace: namespaceOf(o),
        name: o.metadata.name,
        patch: { metadata: { ownerReferences: solid } },
        now: input.now,
        precondition: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion }
      })
    }
  }
  return commands
}
