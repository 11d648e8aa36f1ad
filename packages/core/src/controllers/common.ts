import type { CreateCommand, KubeObject, LabelSelector, LabelSelectorSpec, ObjectInput, OwnerReference, PatchCommand, UpdateCommand } from '../store/types.ts'
import { isRecord } from '../store/merge-patch.ts'
import { labelSelectorFromSpec, matchesLabels } from '../store/selectors.ts'

/**
 * What the workload controllers (replicaset, deployment, gc, node-lifecycle)
 * share: reading pods the way Kubernetes' controller utilities do
 * (`podutil.IsPodReady`, `IsPodAvailable`, `controller.FilterActivePods`),
 * owner references, Events, and status writes.
 */

export type Rec = Record<string, unknown>

/** Milliseconds since the epoch of an RFC 3339 time; NaN when absent or malformed. */
export const timeOf = (t: unknown): number => typeof t === 'string' ? Date.parse(t) : NaN

export const namespaceOf = (o: KubeObject): string => o.metadata.namespace ?? ''

/** `namespace/name`: an object's work-queue key (client-go's MetaNamespaceKeyFunc). */
export const objectKey = (o: KubeObject): string => `${namespaceOf(o)}/${o.metadata.name}`

/** An object's `spec.selector`; undefined when it is missing, invalid or empty (Kubernetes refuses to select everything). */
export function labelSelectorOf (o: KubeObject): LabelSelector | undefined {
  const spec = isRecord(o.spec) ? o.spec.selector : undefined
  if (!isRecord(spec)) return undefined
  const parsed = labelSelectorFromSpec(spec as LabelSelectorSpec)
  return parsed.ok && parsed.value.length > 0 ? parsed.value : undefined
}

/**
 * The keys of the controllers a change to `dependent` concerns (a work
 * queue's handler): its controller, when that is of `kind`; for an orphan,
 * those of `candidates` (of its namespace) whose selector matches it and
 * that would adopt it.
 */
export function controllerKeys (dependent: KubeObject, kind: string, candidates: readonly KubeObject[]): string[] {
  const ref = controllerOf(dependent)
  if (ref !== undefined) return ref.kind === kind ? [`${namespaceOf(dependent)}/${ref.name}`] : []
  return candidates.filter(c => {
    const selector = labelSelectorOf(c)
    return selector !== undefined && c.metadata.deletionTimestamp === undefined && matchesLabels(selector, dependent.metadata.labels)
  }).map(objectKey)
}

/** Whether the Node's Ready condition is True. */
export function nodeIsReady (node: KubeObject): boolean {
  const conditions = isRecord(node.status) ? node.status.conditions : undefined
  return Array.isArray(conditions) && conditions.some(c => isRecord(c) && c.type === 'Ready' && c.status === 'True')
}

/** The owner reference with `controller: true`, if any (metav1.GetControllerOf). */
export function controllerOf (o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find(r => r.controller === true)
}

/** The reference a controller puts on what it creates (metav1.NewControllerRef). */
export function controllerRef (owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }
}

export interface PodConditionView {
  readonly type: string
  readonly status: string
  readonly lastTransitionTime?: string
}

interface PodStatusView {
  readonly phase?: string
  readonly conditions?: readonly PodConditionView[]
  readonly containerStatuses?: ReadonlyArray<{ readonly restartCount?: number }>
}

export const podStatusOf = (pod: KubeObject): PodStatusView => (isRecord(pod.status) ? pod.status : {}) as PodStatusView

/** Pending when the kubelet has not reported yet. */
export const podPhase = (pod: KubeObject): string => podStatusOf(pod).phase ?? 'Pending'

export const podNodeName = (pod: KubeObject): string => {
  const n = isRecord(pod.spec) ? pod.spec.nodeName : undefined
  return typeof n === 'string' ? n : ''
}

export function podReadyCondition (pod: KubeObject): PodConditionView | undefined {
  return podStatusOf(pod).conditions?.find(c => c.type === 'Ready')
}

/** The pod's Ready condition is True (podutil.IsPodReady). */
export function isPodReady (pod: KubeObject): boolean {
  return podReadyCondition(pod)?.status === 'True'
}

/**
 * Ready for at least `minReadySeconds` (podutil.IsPodAvailable): with 0 a
 * Ready pod is available at once, else its Ready condition must have turned
 * True strictly before `now - minReadySeconds`.
 */
export function isPodAvailable (pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  const ready = podReadyCondition(pod)
  if (ready?.status !== 'True') return false
  if (minReadySeconds <= 0) return true
  const since = timeOf(ready.lastTransitionTime)
  return Number.isFinite(since) && since + minReadySeconds * 1000 < nowMs
}

/** Not Succeeded, not Failed, not being deleted (controller.IsPodActive). */
export function isPodActive (pod: KubeObject): boolean {
  const phase = podPhase(pod)
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined
}

/** The highest restart count of the pod's containers. */
export function maxRestarts (pod: KubeObject): number {
  return Math.max(0, ...(podStatusOf(pod).containerStatuses ?? []).map(c => c.restartCount ?? 0))
}

/** A non-negative integer field, or `fallback`. */
export function intOf (v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fallback
}

export interface EventInput {
  readonly name: string
  readonly involved: KubeObject
  readonly reason: string
  readonly message: string
  readonly type: 'Normal' | 'Warning'
  readonly component: string
  readonly now: string
  /** What was done (`Binding`, `Scheduling`), as newer recorders say. */
  readonly action?: string
  /** The part of the object it is about: `spec.containers{web}`. */
  readonly fieldPath?: string
  /** The node of the component that records it (a kubelet's). */
  readonly host?: string
  /** The Event's uid; '' (the default) for the writer to fill in. */
  readonly uid?: string
}

/** An Event about `involved`, as Kubernetes' event recorder writes one (`describe` and `get events` show it). */
export function eventCommand (e: EventInput): CreateCommand {
  const { involved } = e
  const namespace = involved.metadata.namespace ?? 'default'
  const object: ObjectInput = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: e.name, namespace },
    involvedObject: {
      kind: involved.kind,
      ...(involved.metadata.namespace !== undefined ? { namespace: involved.metadata.namespace } : {}),
      name: involved.metadata.name,
      uid: involved.metadata.uid,
      apiVersion: involved.apiVersion,
      ...(involved.metadata.resourceVersion !== undefined ? { resourceVersion: involved.metadata.resourceVersion } : {}),
      ...(e.fieldPath !== undefined ? { fieldPath: e.fieldPath } : {})
    },
    reason: e.reason,
    message: e.message,
    type: e.type,
    ...(e.action !== undefined ? { action: e.action } : {}),
    source: { component: e.component, ...(e.host !== undefined ? { host: e.host } : {}) },
    reportingComponent: e.component,
    ...(e.host !== undefined ? { reportingInstance: e.host } : {}),
    firstTimestamp: e.now,
    lastTimestamp: e.now,
    count: 1
  }
  return { op: 'create', resource: 'events', object, uid: e.uid ?? '', now: e.now }
}

/**
 * A write of nothing but `status` (the status subresource), whatever the rest
 * of the object has become meanwhile; it fails only if the object was
 * deleted and made anew (uid precondition).
 */
export function statusUpdate (resource: string, o: KubeObject, status: unknown, now: string): UpdateCommand {
  const object: ObjectInput = {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata.name, ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}) },
    status
  }
  return { op: 'update', resource, object, now, scope: 'status', precondition: { uid: o.metadata.uid } }
}

/** A copy of `o` without the keys whose value is 0 or undefined (Go's `omitempty` on counters). */
export function omitZero<T extends Rec> (o: T, keep: readonly string[] = []): T {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && (keep.includes(k) || v !== 0))) as T
}

/**
 * Kubernetes' ControllerRefManager (`ClaimPods`, `ClaimReplicaSets`): what
 * `owner` controls among `candidates` (objects of its namespace). One that
 * names it as controller stays if the selector matches (or it is being
 * deleted), else it is released; an orphan the selector matches is adopted,
 * unless the owner is being deleted or `canAdopt` says no. Adoption and
 * release are merge patches of ownerReferences guarded by the candidate's
 * resourceVersion; the adopted objects are returned as they will be.
 */
export function claimObjects (
  owner: KubeObject, resource: string, matches: (o: KubeObject) => boolean, candidates: readonly KubeObject[], now: string,
  canAdopt: (o: KubeObject) => boolean = () => true
): { owned: KubeObject[], commands: PatchCommand[] } {
  const owned: KubeObject[] = []
  const commands: PatchCommand[] = []
  const uid = owner.metadata.uid
  const patch = (o: KubeObject, ownerReferences: readonly OwnerReference[] | null): PatchCommand => ({
    op: 'patch', resource, namespace: namespaceOf(o), name: o.metadata.name, patch: { metadata: { ownerReferences } }, now,
    precondition: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion }
  })
  for (const o of candidates) {
    const ref = controllerOf(o)
    if (ref !== undefined) {
      if (ref.uid !== uid) continue
      if (matches(o) || o.metadata.deletionTimestamp !== undefined) { owned.push(o); continue }
      const rest = (o.metadata.ownerReferences ?? []).filter(r => r.uid !== uid)
      commands.push(patch(o, rest.length > 0 ? rest : null))
      continue
    }
    if (!matches(o) || owner.metadata.deletionTimestamp !== undefined || o.metadata.deletionTimestamp !== undefined || !canAdopt(o)) continue
    const ownerReferences = [...(o.metadata.ownerReferences ?? []), controllerRef(owner)]
    commands.push(patch(o, ownerReferences))
    owned.push({ ...o, metadata: { ...o.metadata, ownerReferences } })
  }
  return { owned, commands }
}

export { isRecord }
