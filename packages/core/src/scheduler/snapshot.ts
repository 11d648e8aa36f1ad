import type { KubeObject } from '../store/types.ts'
import { podRequests } from '../kubelet/admit.ts'
import { bytesOf, containerRequests, cpuMilli } from '../kubelet/spec.ts'
import { parseQuantity } from '../api/validate-format.ts'
import type { HostPort, Resources, Taint, Toleration } from './types.ts'
import { isRecord } from '../store/merge-patch.ts'

/**
 * The scheduler's view of the cluster for one round: each pod read once into
 * what the filters and scorers need, and each node with running totals of
 * what its pods request, so placing a pod costs O(nodes), not O(pods).
 */

/** What Kubernetes assumes a container with no request uses, for scoring only (schedutil.DefaultMilliCPURequest, DefaultMemoryRequest). */
export const DEFAULT_CPU_MILLI_REQUEST = 100
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

/** The taints Kubernetes' node lifecycle controller puts on a node whose Ready condition is not True (TaintNodesByCondition). */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready'
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable'
/** The taint a cordoned node stands for: a pod that tolerates it may still go there (Kubernetes' NodeUnschedulable plugin). */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable'

export interface NodeSelectorRequirement {
  readonly key: string
  readonly operator: string
  readonly values?: readonly string[]
}

export interface NodeSelectorTerm {
  readonly matchExpressions?: readonly NodeSelectorRequirement[]
  readonly matchFields?: readonly NodeSelectorRequirement[]
}

export interface PodInfo {
  readonly pod: KubeObject
  readonly key: string
  /** What the filters check: requests as the kubelet's admission counts them. */
  readonly requests: Resources
  /** What the scorers count: a container without a request counts as 100m and 200Mi. */
  readonly nonZero: Resources
  readonly hostPorts: readonly HostPort[]
  readonly tolerations: readonly Toleration[]
  readonly nodeSelector: Readonly<Record<string, string>>
  /** spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed); undefined: none. */
  readonly requiredTerms: readonly NodeSelectorTerm[] | undefined
  /** Pods of the same owner are spread over nodes; undefined: the pod has neither a controller nor labels. */
  readonly spreadKey: string | undefined
}

export interface NodeInfo {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly unschedulable: boolean
  /** spec.taints with the effect NoSchedule or NoExecute, and the not-ready/unreachable taint its Ready condition stands for. */
  readonly taints: readonly Taint[]
  readonly allocatable: Resources & { readonly pods: number }
  /** Running totals of the pods on the node, including those bound earlier in this round. */
  requested: { cpuMilli: number, memoryBytes: number }
  nonZeroRequested: { cpuMilli: number, memoryBytes: number }
  podCount: number
  readonly usedPorts: HostPort[]
}

type Rec = Record<string, unknown>
const strings = (v: unknown): Record<string, string> => isRecord(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string> : {}

export function podKey (pod: KubeObject): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`
}

/** The key pods of one owner share: the controller's uid, else the namespace and the exact labels. */
export function spreadKeyOf (pod: KubeObject): string | undefined {
  const controller = pod.metadata.ownerReferences?.find(r => r.controller === true)
  if (controller !== undefined) return `owner:${controller.uid}`
  const labels = Object.entries(pod.metadata.labels ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  if (labels.length === 0) return undefined
  return `labels:${pod.metadata.namespace ?? 'default'}:${JSON.stringify(labels)}`
}

/** Host ports of the pod's containers (and of sidecar init containers, restartPolicy Always, as Kubernetes counts them). */
export function hostPortsOf (pod: KubeObject): HostPort[] {
  const spec = (pod.spec ?? {}) as { containers?: unknown, initContainers?: unknown }
  const containers = [
    ...(Array.isArray(spec.containers) ? spec.containers : []),
    ...(Array.isArray(spec.initContainers) ? spec.initContainers.filter(c => isRecord(c) && c.restartPolicy === 'Always') : [])
  ] as Rec[]
  const out: HostPort[] = []
  for (const c of containers) {
    for (const p of Array.isArray(c.ports) ? c.ports as Rec[] : []) {
      const port = p.hostPort
      if (typeof port !== 'number' || port <= 0) continue
      out.push({ ip: typeof p.hostIP === 'string' && p.hostIP !== '' ? p.hostIP : '0.0.0.0', protocol: typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP', port })
    }
  }
  return out
}

/** Requests with Kubernetes' scoring defaults for containers that ask for nothing (GetNonzeroRequests). */
export function nonZeroRequests (pod: KubeObject): Resources {
  return podRequests(pod, c => {
    const r = containerRequests(c)
    return { cpuMilli: r.cpuMilli === 0 ? DEFAULT_CPU_MILLI_REQUEST : r.cpuMilli, memoryBytes: r.memoryBytes === 0 ? DEFAULT_MEMORY_REQUEST : r.memoryBytes }
  })
}

export function podInfoOf (pod: KubeObject): PodInfo {
  const spec = (pod.spec ?? {}) as Rec
  const affinity = isRecord(spec.affinity) && isRecord(spec.affinity.nodeAffinity) ? spec.affinity.nodeAffinity : undefined
  const required = affinity !== undefined && isRecord(affinity.requiredDuringSchedulingIgnoredDuringExecution) ? affinity.requiredDuringSchedulingIgnoredDuringExecution : undefined
  return {
    pod,
    key: podKey(pod),
    requests: podRequests(pod),
    nonZero: nonZeroRequests(pod),
    hostPorts: hostPortsOf(pod),
    tolerations: Array.isArray(spec.tolerations) ? (spec.tolerations as unknown[]).filter(isRecord) as Toleration[] : [],
    nodeSelector: strings(spec.nodeSelector),
    requiredTerms: required !== undefined ? (Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms as NodeSelectorTerm[] : []) : undefined,
    spreadKey: spreadKeyOf(pod)
  }
}

/** The Ready condition's status, or undefined when the node has none. */
function readyStatus (node: KubeObject): string | undefined {
  const conditions = (node.status as { conditions?: unknown } | undefined)?.conditions
  if (!Array.isArray(conditions)) return undefined
  const ready = (conditions as unknown[]).find(c => isRecord(c) && c.type === 'Ready') as Rec | undefined
  return typeof ready?.status === 'string' ? ready.status : undefined
}

/**
 * The taints that keep pods off a node that is not Ready, as Kubernetes'
 * lifecycle controller sets them: Ready=False → not-ready, Ready=Unknown →
 * unreachable; no Ready condition yet → not-ready (what a kubelet registers with).
 */
export function conditionTaints (node: KubeObject): Taint[] {
  const ready = readyStatus(node)
  if (ready === 'True') return []
  return [{ key: ready === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY, effect: 'NoSchedule' }]
}

function quantity (list: unknown, name: string): number | undefined {
  return isRecord(list) ? parseQuantity(list[name]) : undefined
}

/** Allocatable (else capacity) cpu, memory and pods; a resource the node does not list is 0, as in Kubernetes. */
export function allocatableOf (node: KubeObject): Resources & { pods: number } {
  const status = (node.status ?? {}) as Rec
  const list = isRecord(status.allocatable) ? status.allocatable : status.capacity
  return {
    cpuMilli: cpuMilli((list as Rec | undefined)?.cpu) ?? 0,
    memoryBytes: Math.floor(bytesOf((list as Rec | undefined)?.memory) ?? 0),
    pods: Math.floor(quantity(list, 'pods') ?? 0)
  }
}

export function nodeInfoOf (node: KubeObject): NodeInfo {
  const spec = (node.spec ?? {}) as Rec
  const own = (Array.isArray(spec.taints) ? spec.taints as unknown[] : [])
    .filter((t): t is Taint => isRecord(t) && typeof t.key === 'string' && (t.effect === 'NoSchedule' || t.effect === 'NoExecute'))
  const implied = conditionTaints(node).filter(t => !own.some(o => o.key === t.key && o.effect === t.effect))
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    unschedulable: spec.unschedulable === true,
    taints: [...own, ...implied],
    allocatable: allocatableOf(node),
    requested: { cpuMilli: 0, memoryBytes: 0 },
    nonZeroRequested: { cpuMilli: 0, memoryBytes: 0 },
    podCount: 0,
    usedPorts: []
  }
}

/** Count a pod on a node: its requests, its slot and its host ports. */
export function addPod (node: NodeInfo, pod: Pick<PodInfo, 'requests' | 'nonZero' | 'hostPorts'>): void {
  node.requested.cpuMilli += pod.requests.cpuMilli
  node.requested.memoryBytes += pod.requests.memoryBytes
  node.nonZeroRequested.cpuMilli += pod.nonZero.cpuMilli
  node.nonZeroRequested.memoryBytes += pod.nonZero.memoryBytes
  node.podCount++
  for (const p of pod.hostPorts) node.usedPorts.push(p)
}
