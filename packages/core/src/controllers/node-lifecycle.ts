import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { eventCommand, isRecord, namespaceOf, podNodeName, podStatusOf, timeOf, type PodConditionView } from './common.ts'

/**
 * Node lifecycle, after Kubernetes' node lifecycle controller with taint
 * based eviction and the pod garbage collector:
 *
 * - A Node whose Ready condition is not True gets the taints
 *   `node.kubernetes.io/not-ready` (Ready=False) or
 *   `node.kubernetes.io/unreachable` (Ready=Unknown), effects NoSchedule and
 *   NoExecute (timeAdded on the latter), and loses them when Ready again.
 * - Its pods that are Ready are marked Ready=False at once
 *   (MarkPodsNotReady), with a `NodeNotReady` Warning event on each, so
 *   ReplicaSets, Deployments and Services stop counting them.
 * - Once the condition has been not True for `podEvictionTimeoutSeconds`
 *   (measured from its lastTransitionTime), the node's pods are deleted so
 *   their controllers replace them elsewhere, each with a
 *   `TaintManagerEviction` event (`Marking for deletion Pod default/web-x`),
 *   as the NoExecute taint manager does. The timeout stands in for the 300 s
 *   `tolerationSeconds` Kubernetes' admission gives every pod; a pod with
 *   its own toleration of the taint keeps it: the smallest tolerationSeconds
 *   of its matching tolerations, or forever when none has one.
 * - Pods bound to a Node that no longer exists are deleted (PodGC's orphan
 *   collection, without its 40 s quarantine).
 * - When no Node at all is Ready, nothing is evicted (Kubernetes' "full
 *   disruption" mode): the likelier story is that this leader is cut off.
 */

export interface NodeLifecycleInput {
  readonly nodes: readonly KubeObject[]
  /** Every pod (bound ones are looked at). */
  readonly pods: readonly KubeObject[]
  /** RFC 3339. */
  readonly now: string
  /** A unique name for an Event about `object`. */
  readonly eventName: (object: string) => string
  /** How long a node may be not Ready before its pods are deleted, s; default NODE_LIFECYCLE_DEFAULTS. */
  readonly podEvictionTimeoutSeconds?: number
  /** Put the not-ready/unreachable taints on such nodes; default true. */
  readonly taintNodes?: boolean
  /**
   * Only these node names (a work queue's key): their Nodes, and the pods
   * bound to them. `nodes` must still hold every Node (whether any is Ready
   * decides eviction); `pods` need hold only those of these nodes.
   */
  readonly only?: ReadonlySet<string>
}

export const NODE_LIFECYCLE_DEFAULTS = Object.freeze({
  /**
   * s. Kubernetes waits 300 s; a member is declared dead after ≈3 s of
   * silence (membership's suspectAfterMs + suspicionTimeoutMs), so 3 s more
   * puts a dead node's pods on other nodes ≈6 s after it stopped.
   */
  podEvictionTimeoutSeconds: 3
})

export const TAINT_KEY_NOT_READY = 'node.kubernetes.io/not-ready'
export const TAINT_KEY_UNREACHABLE = 'node.kubernetes.io/unreachable'
const OWN_KEYS = new Set([TAINT_KEY_NOT_READY, TAINT_KEY_UNREACHABLE])

interface Taint { readonly key: string, readonly value?: string, readonly effect: string, readonly timeAdded?: string }
interface Toleration { readonly key?: string, readonly operator?: string, readonly value?: string, readonly effect?: string, readonly tolerationSeconds?: number }

function readyOf (node: KubeObject): PodConditionView | undefined {
  const conditions = (isRecord(node.status) ? node.status.conditions : undefined) as PodConditionView[] | undefined
  return Array.isArray(conditions) ? conditions.find(c => c.type === 'Ready') : undefined
}

function taintsOf (node: KubeObject): Taint[] {
  const t = isRecord(node.spec) ? node.spec.taints : undefined
  return Array.isArray(t) ? t as Taint[] : []
}

/**
 * The seconds a pod tolerates the NoExecute taint `key`: the smallest
 * tolerationSeconds (at least 0) of its matching tolerations, Infinity when
 * one matches without a limit, undefined when none matches.
 */
export function toleratedSeconds (pod: KubeObject, key: string): number | undefined {
  const list = isRecord(pod.spec) && Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations as Toleration[] : []
  const matching = list.filter(t => {
    const keyMatches = t.operator === 'Exists' ? (t.key === undefined || t.key === '' || t.key === key) : (t.key === key && (t.value ?? '') === '')
    return keyMatches && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute')
  })
  if (matching.length === 0) return undefined
  const limits = matching.flatMap(t => typeof t.tolerationSeconds === 'number' ? [Math.max(0, t.tolerationSeconds)] : [])
  return limits.length === 0 ? Infinity : Math.min(...limits)
}

export function reconcileNodeLifecycle (input: NodeLifecycleInput): ObjectCommand[] {
  const { now } = input
  const nowMs = timeOf(now)
  const timeout = input.podEvictionTimeoutSeconds ?? NODE_LIFECYCLE_DEFAULTS.podEvictionTimeoutSeconds
  const commands: ObjectCommand[] = []
  const nodes = new Map(input.nodes.map(n => [n.metadata.name, n]))
  const podsByNode = new Map<string, KubeObject[]>()
  for (const p of input.pods) {
    const node = podNodeName(p)
    if (node === '') continue
    const list = podsByNode.get(node)
    if (list === undefined) podsByNode.set(node, [p])
    else list.push(p)
  }
  const anyReady = input.nodes.some(n => readyOf(n)?.status === 'True')
  const event = (pod: KubeObject, reason: string, message: string, type: 'Normal' | 'Warning'): ObjectCommand =>
    eventCommand({ name: input.eventName(pod.metadata.name), involved: pod, reason, message, type, component: 'node-controller', now })
  const deletePod = (pod: KubeObject): ObjectCommand => ({ op: 'delete', resource: 'pods', namespace: namespaceOf(pod), name: pod.metadata.name, precondition: { uid: pod.metadata.uid } })

  for (const node of input.nodes) {
    if (input.only !== undefined && !input.only.has(node.metadata.name)) continue
    const ready = readyOf(node)
    if (ready === undefined) continue
    const key = ready.status === 'True' ? undefined : ready.status === 'False' ? TAINT_KEY_NOT_READY : TAINT_KEY_UNREACHABLE
    if (input.taintNodes !== false) {
      const patch = taintPatch(node, key, now)
      if (patch !== undefined) commands.push(patch)
    }
    if (key === undefined) continue
    const since = timeOf(ready.lastTransitionTime)
    const elapsedS = Number.isFinite(since) ? (nowMs - since) / 1000 : 0
    for (const pod of podsByNode.get(node.metadata.name) ?? []) {
      const limit = toleratedSeconds(pod, key) ?? timeout
      if (anyReady && elapsedS >= limit) {
        commands.push(deletePod(pod))
        commands.push(event(pod, 'TaintManagerEviction', `Marking for deletion Pod ${namespaceOf(pod)}/${pod.metadata.name}`, 'Normal'))
        continue
      }
      const notReady = markNotReady(pod, now)
      if (notReady !== undefined) commands.push(notReady, event(pod, 'NodeNotReady', 'Node is not ready', 'Warning'))
    }
  }
  for (const [name, pods] of podsByNode) {
    if (nodes.has(name) || (input.only !== undefined && !input.only.has(name))) continue
    for (const pod of pods) commands.push(deletePod(pod))
  }
  return commands
}

/**
 * The ms until the next of `pods` on a not-Ready `node` is due for
 * eviction, or undefined when the node is Ready or none is waiting (a
 * toleration without a limit waits forever): the time that no event will
 * announce.
 */
export function untilEvictionMs (node: KubeObject, pods: readonly KubeObject[], nowMs: number, podEvictionTimeoutSeconds: number = NODE_LIFECYCLE_DEFAULTS.podEvictionTimeoutSeconds): number | undefined {
  const ready = readyOf(node)
  if (ready === undefined || ready.status === 'True') return undefined
  const key = ready.status === 'False' ? TAINT_KEY_NOT_READY : TAINT_KEY_UNREACHABLE
  const since = timeOf(ready.lastTransitionTime)
  if (!Number.isFinite(since)) return undefined
  const due = pods.map(p => toleratedSeconds(p, key) ?? podEvictionTimeoutSeconds).filter(Number.isFinite).map(s => since + s * 1000 - nowMs)
  return due.length === 0 ? undefined : Math.max(0, Math.min(...due))
}

/** The taint patch that makes the node's own taints what `key` asks (none when Ready), if any change. */
function taintPatch (node: KubeObject, key: string | undefined, now: string): ObjectCommand | undefined {
  const current = taintsOf(node)
  const kept = current.filter(t => !(OWN_KEYS.has(t.key) && (t.effect === 'NoSchedule' || t.effect === 'NoExecute')))
  const wanted: Taint[] = key === undefined
    ? []
    : [
        { key, effect: 'NoSchedule' },
        { key, effect: 'NoExecute', timeAdded: current.find(t => t.key === key && t.effect === 'NoExecute')?.timeAdded ?? now }
      ]
  const taints = [...kept, ...wanted]
  if (isJsonEqual(taints, current)) return undefined
  return {
    op: 'patch',
    resource: 'nodes',
    namespace: '',
    name: node.metadata.name,
    patch: { spec: { taints: taints.length > 0 ? taints : null } },
    now,
    precondition: { uid: node.metadata.uid, resourceVersion: node.metadata.resourceVersion }
  }
}

/** A status write that turns a Ready pod's Ready condition False (MarkPodsNotReady), if it is Ready. */
function markNotReady (pod: KubeObject, now: string): ObjectCommand | undefined {
  const status = podStatusOf(pod)
  const conditions = status.conditions ?? []
  if (!conditions.some(c => c.type === 'Ready' && c.status === 'True')) return undefined
  const next = conditions.map(c => c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: now } : c)
  return {
    op: 'update',
    resource: 'pods',
    object: { apiVersion: pod.apiVersion, kind: pod.kind, metadata: { name: pod.metadata.name, ...(pod.metadata.namespace !== undefined ? { namespace: pod.metadata.namespace } : {}) }, status: { ...status, conditions: next } },
    now,
    scope: 'status',
    precondition: { uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion }
  }
}
