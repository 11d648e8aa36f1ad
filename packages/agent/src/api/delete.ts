import { ShoalError, type Command, type KubeObject, type ObjectCommand, type ObjectStore } from '@shoal/core'
import type { KindInfo } from '@shoal/core/api/index.ts'

/** The kinds that own others (and are owned) as the garbage collector sees them. */
const OWNING = ['deployments', 'replicasets', 'pods'] as const

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan'

/**
 * The DeleteOptions of a DELETE, from its body (what kubectl sends:
 * `{"kind":"DeleteOptions","propagationPolicy":"Orphan"}`) or its query;
 * default Background. A bad policy is a 400 naming the allowed values.
 */
export function deleteOptionsOf (body: unknown, query: URLSearchParams): { policy: PropagationPolicy, preconditions: { uid?: string, resourceVersion?: string } } {
  const options = typeof body === 'object' && body !== null && !(body instanceof Uint8Array) ? body as { propagationPolicy?: unknown, preconditions?: { uid?: unknown, resourceVersion?: unknown } } : {}
  const raw = options.propagationPolicy ?? query.get('propagationPolicy') ?? 'Background'
  if (raw !== 'Background' && raw !== 'Foreground' && raw !== 'Orphan') {
    throw new ShoalError('BadRequest', 400, `propagationPolicy: Unsupported value: ${JSON.stringify(raw)}: supported values: "Foreground", "Background", "Orphan"`)
  }
  const p = options.preconditions ?? {}
  return {
    policy: raw,
    preconditions: {
      ...(typeof p.uid === 'string' && p.uid !== '' ? { uid: p.uid } : {}),
      ...(typeof p.resourceVersion === 'string' && p.resourceVersion !== '' ? { resourceVersion: p.resourceVersion } : {})
    }
  }
}

/** The objects (of the owning kinds, in `namespace`) that name `uid` among their owners. */
function dependentsOf (store: ObjectStore, namespace: string, uid: string): Array<{ resource: string, object: KubeObject }> {
  return OWNING.flatMap(resource => {
    const r = store.list(resource, { namespace })
    return r.ok ? r.items.filter(o => (o.metadata.ownerReferences ?? []).some(ref => ref.uid === uid)).map(object => ({ resource, object })) : []
  })
}

/**
 * The one store command that deletes `target` as `policy` asks, as a single
 * Raft entry so no controller acts in between:
 * - Background: the object alone; the garbage collector removes its
 *   dependents in the rounds that follow (Kubernetes' default).
 * - Foreground: the object and everything that depends on it, transitively,
 *   dependents first, all at once. (Kubernetes keeps the owner, marked with
 *   a deletionTimestamp, until its dependents are gone; here the whole tree
 *   goes in one step, so no one sees the owner without its dependents.)
 * - Orphan: its dependents lose their reference to it, then it is deleted:
 *   they stay, ownerless.
 */
export function deletionCommand (store: ObjectStore, k: KindInfo, target: KubeObject, policy: PropagationPolicy, preconditions: { uid?: string, resourceVersion?: string }): Command {
  const namespace = target.metadata.namespace ?? ''
  const own: ObjectCommand = { op: 'delete', resource: k.resource, namespace, name: target.metadata.name, precondition: { uid: target.metadata.uid, ...preconditions } }
  if (policy === 'Background' || !k.namespaced) return own
  if (policy === 'Orphan') {
    const released: ObjectCommand[] = dependentsOf(store, namespace, target.metadata.uid).map(({ resource, object }) => {
      const refs = (object.metadata.ownerReferences ?? []).filter(ref => ref.uid !== target.metadata.uid)
      return { op: 'patch', resource, namespace, name: object.metadata.name, patch: { metadata: { ownerReferences: refs.length > 0 ? refs : null } }, now: '', precondition: { uid: object.metadata.uid } }
    })
    return released.length === 0 ? own : { op: 'batch', commands: [...released, own] }
  }
  const doomed: ObjectCommand[] = []
  const seen = new Set<string>([target.metadata.uid])
  const visit = (uid: string): void => {
    for (const { resource, object } of dependentsOf(store, namespace, uid)) {
      if (seen.has(object.metadata.uid)) continue
      seen.add(object.metadata.uid)
      visit(object.metadata.uid)
      doomed.push({ op: 'delete', resource, namespace, name: object.metadata.name, precondition: { uid: object.metadata.uid } })
    }
  }
  visit(target.metadata.uid)
  return doomed.length === 0 ? own : { op: 'batch', commands: [...doomed, own] }
}
