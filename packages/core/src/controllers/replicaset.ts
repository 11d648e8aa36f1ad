import type { KubeObject, LabelSelectorSpec, ObjectCommand, ObjectInput } from '../store/types.ts'
import { matchesLabels } from '../store/selectors.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import {
  claimObjects, controllerKeys, controllerOf, controllerRef, eventCommand, intOf, isPodActive, isPodAvailable, isPodReady, isRecord, maxRestarts,
  labelSelectorOf, namespaceOf, objectKey, omitZero, podNodeName, podPhase, podReadyCondition, statusUpdate, timeOf, type Rec
} from './common.ts'

/**
 * The ReplicaSet controller, as Kubernetes' `pkg/controller/replicaset` does it:
 *
 * - Claim: a ReplicaSet's pods are those whose controller reference carries
 *   its uid. An orphan (no controller) in its namespace that its selector
 *   matches is adopted; a pod it controls that the selector no longer matches
 *   is released (`ClaimPods`). A ReplicaSet being deleted adopts nothing.
 * - Manage: active pods (not Succeeded/Failed, not being deleted) are counted
 *   against `spec.replicas`. Missing ones are created from the template
 *   (`NAME-xxxxx`, template labels, annotations and spec, a controller
 *   reference); surplus ones are deleted least valuable first, the
 *   `ActivePodsWithRanks` order: unscheduled, Pending before Unknown before
 *   Running, not ready, lower `controller.kubernetes.io/pod-deletion-cost`,
 *   more sibling pods on the same node, ready for a shorter time, more
 *   restarts, newer. At most `burstReplicas` pods are created or deleted per
 *   ReplicaSet per round (Kubernetes' `BurstReplicas`, 500). Finished pods are
 *   neither counted nor deleted: they are replaced, as in Kubernetes.
 * - Status (status subresource): replicas, fullyLabeledReplicas,
 *   readyReplicas, availableReplicas (Ready for minReadySeconds) and
 *   observedGeneration, computed, as Kubernetes does, from the pods seen at
 *   the start of the round.
 * - Events SuccessfulCreate / SuccessfulDelete on the ReplicaSet.
 *
 * No pod twice for the same slot: the controller counts what the store
 * holds, so the caller must run rounds one after another and let the writes
 * of a round be applied to the replica it reads before the next round reads
 * it (Kubernetes keeps "expectations" for the same reason; here awaiting the
 * writes is the expectation). A new leader must first apply every entry of
 * the log it inherited (its own term's first entry committed and applied)
 * before its first round. Creates carry `uid: ''`: the caller picks a fresh
 * uid, as it does for the node controller.
 */

export interface ReplicaSetControllerInput {
  readonly replicaSets: readonly KubeObject[]
  /** Every pod of the namespaces the ReplicaSets are in (orphans included, for adoption). */
  readonly pods: readonly KubeObject[]
  /** RFC 3339. */
  readonly now: string
  /** Five characters for a new pod's name (Kubernetes: `rand.String(5)` of `bcdfghjklmnpqrstvwxz2456789`). */
  readonly podNameSuffix: () => string
  /** A unique name for an Event about `object` (Kubernetes uses `NAME.HEX`). */
  readonly eventName: (object: string) => string
  /** Creations or deletions per ReplicaSet per round; default 500. */
  readonly burstReplicas?: number
  /**
   * Reconcile only the ReplicaSets of these keys (`namespace/name`): the
   * work-queue controller's one key. The others given still count, as the
   * owners of a Deployment's pods on a node. Default: every one.
   */
  readonly only?: ReadonlySet<string>
}

export const REPLICASET_DEFAULTS = Object.freeze({
  /** Kubernetes' `BurstReplicas`: how many pods one sync may create or delete. */
  burstReplicas: 500
})

export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost'

interface ReplicaSetSpecView {
  readonly replicas?: number
  readonly minReadySeconds?: number
  readonly selector?: LabelSelectorSpec
  readonly template?: { readonly metadata?: { readonly labels?: Record<string, string>, readonly annotations?: Record<string, string> }, readonly spec?: unknown }
}

const specOf = (rs: KubeObject): ReplicaSetSpecView => (isRecord(rs.spec) ? rs.spec : {}) as ReplicaSetSpecView

/**
 * The ReplicaSets a change to `pod` concerns (the controller's pod handler):
 * its controller, when that is a ReplicaSet; for an orphan, those of its
 * namespace that select it and would adopt it. `replicaSets`: those of the
 * pod's namespace.
 */
export function replicaSetKeysForPod (pod: KubeObject, replicaSets: readonly KubeObject[]): string[] {
  return controllerKeys(pod, 'ReplicaSet', replicaSets)
}

/**
 * When the ReplicaSet's status will change with no event to say so: the
 * ms until the first of its Ready pods has been Ready for minReadySeconds
 * (then it counts as available), or undefined when none is waiting.
 */
export function untilNextAvailableMs (rs: KubeObject, pods: readonly KubeObject[], nowMs: number): number | undefined {
  const minReady = intOf(specOf(rs).minReadySeconds, 0)
  if (minReady <= 0) return undefined
  let next: number | undefined
  for (const p of pods) {
    if (controllerOf(p)?.uid !== rs.metadata.uid || !isPodActive(p) || !isPodReady(p) || isPodAvailable(p, minReady, nowMs)) continue
    const since = timeOf(podReadyCondition(p)?.lastTransitionTime)
    if (!Number.isFinite(since)) continue
    // Available once strictly past since + minReady; times are to the second.
    const wait = Math.max(0, since + minReady * 1000 - nowMs) + 1000
    next = next === undefined ? wait : Math.min(next, wait)
  }
  return next
}

/** The commands for one round over every ReplicaSet. */
export function reconcileReplicaSets (input: ReplicaSetControllerInput): ObjectCommand[] {
  const commands: ObjectCommand[] = []
  const nowMs = timeOf(input.now)
  const burst = input.burstReplicas ?? REPLICASET_DEFAULTS.burstReplicas
  const podsByNamespace = new Map<string, KubeObject[]>()
  for (const p of input.pods) {
    const list = podsByNamespace.get(namespaceOf(p))
    if (list === undefined) podsByNamespace.set(namespaceOf(p), [p])
    else list.push(p)
  }
  const names = new Set(input.pods.map(p => `${namespaceOf(p)}/${p.metadata.name}`))
  // The controller above each ReplicaSet, for counting a Deployment's pods across its ReplicaSets on one node.
  const ownerOfRs = new Map(input.replicaSets.map(rs => [rs.metadata.uid, controllerOf(rs)?.uid ?? rs.metadata.uid]))
  for (const rs of input.replicaSets) {
    if (input.only !== undefined && !input.only.has(objectKey(rs))) continue
    const selector = labelSelectorOf(rs)
    if (selector === undefined) continue
    const claimed = claimObjects(rs, 'pods', p => matchesLabels(selector, p.metadata.labels), podsByNamespace.get(namespaceOf(rs)) ?? [], input.now, isPodActive)
    commands.push(...claimed.commands)
    const active = claimed.owned.filter(isPodActive)
    if (rs.metadata.deletionTimestamp === undefined) {
      const siblings = (podsByNamespace.get(namespaceOf(rs)) ?? []).filter(p => {
        const ref = controllerOf(p)
        return ref !== undefined && isPodActive(p) && ownerOfRs.get(ref.uid) === ownerOfRs.get(rs.metadata.uid)
      })
      commands.push(...manageReplicas(rs, active, siblings, input, names, burst))
    }
    const status = replicaSetStatus(rs, active, nowMs)
    if (!isJsonEqual(status, rs.status ?? {})) commands.push(statusUpdate('replicasets', rs, status, input.now))
  }
  return commands
}

function manageReplicas (rs: KubeObject, active: readonly KubeObject[], siblings: readonly KubeObject[], input: ReplicaSetControllerInput, names: Set<string>, burst: number): ObjectCommand[] {
  const want = intOf(specOf(rs).replicas, 1)
  const diff = active.length - want
  const commands: ObjectCommand[] = []
  const event = (reason: string, message: string): ObjectCommand =>
    eventCommand({ name: input.eventName(rs.metadata.name), involved: rs, reason, message, type: 'Normal', component: 'replicaset-controller', now: input.now })
  if (diff < 0) {
    for (let i = 0; i < Math.min(-diff, burst); i++) {
      const pod = podFromTemplate(rs, uniqueName(rs, input.podNameSuffix, names))
      commands.push({ op: 'create', resource: 'pods', object: pod, uid: '', now: input.now })
      commands.push(event('SuccessfulCreate', `Created pod: ${pod.metadata.name}`))
    }
  } else if (diff > 0) {
    for (const pod of podsToDelete(active, siblings, Math.min(diff, burst))) {
      commands.push({ op: 'delete', resource: 'pods', namespace: namespaceOf(pod), name: pod.metadata.name, precondition: { uid: pod.metadata.uid } })
      commands.push(event('SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`))
    }
  }
  return commands
}

/** `NAME-xxxxx`, drawing again on a clash with a pod that exists or was named this round. */
function uniqueName (rs: KubeObject, suffix: () => string, names: Set<string>): string {
  const ns = namespaceOf(rs)
  let name = `${rs.metadata.name}-${suffix()}`
  for (let i = 0; i < 20 && names.has(`${ns}/${name}`); i++) name = `${rs.metadata.name}-${suffix()}`
  names.add(`${ns}/${name}`)
  return name
}

/** A pod of the ReplicaSet's template (controller.GetPodFromTemplate). */
export function podFromTemplate (rs: KubeObject, name: string): ObjectInput {
  const template = specOf(rs).template ?? {}
  const labels = template.metadata?.labels
  const annotations = template.metadata?.annotations
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${rs.metadata.name}-`,
      ...(rs.metadata.namespace !== undefined ? { namespace: rs.metadata.namespace } : {}),
      ...(labels !== undefined ? { labels: { ...labels } } : {}),
      ...(annotations !== undefined ? { annotations: { ...annotations } } : {}),
      ownerReferences: [controllerRef(rs)]
    },
    spec: structuredClone(template.spec ?? {}),
    status: { phase: 'Pending' }
  }
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 }

function deletionCost (pod: KubeObject): number {
  const v = Number(pod.metadata.annotations?.[POD_DELETION_COST])
  return Number.isSafeInteger(v) ? v : 0
}

/**
 * Kubernetes' `ActivePodsWithRanks` order, least valuable first; `rank` is
 * how many pods of the same owner share the pod's node. Ties end on the name
 * so every replica picks the same pods.
 */
export function compareForDeletion (a: KubeObject, b: KubeObject, rank: (p: KubeObject) => number): number {
  const nodeA = podNodeName(a)
  const nodeB = podNodeName(b)
  if ((nodeA === '') !== (nodeB === '')) return nodeA === '' ? -1 : 1
  const phase = (PHASE_ORDER[podPhase(a)] ?? 0) - (PHASE_ORDER[podPhase(b)] ?? 0)
  if (phase !== 0) return phase
  const readyA = isPodReady(a)
  if (readyA !== isPodReady(b)) return readyA ? 1 : -1
  const cost = deletionCost(a) - deletionCost(b)
  if (cost !== 0) return cost
  const ranked = rank(b) - rank(a)
  if (ranked !== 0) return ranked
  if (readyA) {
    // Ready more recently first; an unknown time counts as the most recent.
    const ta = timeOf(podReadyCondition(a)?.lastTransitionTime)
    const tb = timeOf(podReadyCondition(b)?.lastTransitionTime)
    const since = (Number.isFinite(tb) ? tb : Infinity) - (Number.isFinite(ta) ? ta : Infinity)
    if (since !== 0 && !Number.isNaN(since)) return since > 0 ? 1 : -1
  }
  const restarts = maxRestarts(b) - maxRestarts(a)
  if (restarts !== 0) return restarts
  const ca = timeOf(a.metadata.creationTimestamp)
  const cb = timeOf(b.metadata.creationTimestamp)
  if (ca !== cb && Number.isFinite(ca) && Number.isFinite(cb)) return cb - ca
  return a.metadata.name < b.metadata.name ? 1 : a.metadata.name > b.metadata.name ? -1 : 0
}

/** The `count` least valuable of `active` (getPodsToDelete). */
export function podsToDelete (active: readonly KubeObject[], siblings: readonly KubeObject[], count: number): KubeObject[] {
  const perNode = new Map<string, number>()
  for (const p of siblings) {
    const node = podNodeName(p)
    if (node !== '') perNode.set(node, (perNode.get(node) ?? 0) + 1)
  }
  const rank = (p: KubeObject): number => perNode.get(podNodeName(p)) ?? 0
  return [...active].sort((a, b) => compareForDeletion(a, b, rank)).slice(0, count)
}

/** The status the ReplicaSet should show for these active pods (calculateStatus). */
export function replicaSetStatus (rs: KubeObject, active: readonly KubeObject[], nowMs: number): Rec {
  const spec = specOf(rs)
  const templateLabels = spec.template?.metadata?.labels ?? {}
  const minReadySeconds = intOf(spec.minReadySeconds, 0)
  const fullyLabeled = active.filter(p => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length
  const previous = isRecord(rs.status) ? rs.status : {}
  return omitZero({
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter(p => isPodAvailable(p, minReadySeconds, nowMs)).length,
    observedGeneration: rs.metadata.generation,
    ...(previous.conditions !== undefined ? { conditions: previous.conditions } : {})
  }, ['replicas'])
}
