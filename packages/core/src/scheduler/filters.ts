import type { NodeInfo, NodeSelectorRequirement, NodeSelectorTerm, PodInfo } from './snapshot.ts'
import { TAINT_UNSCHEDULABLE } from './snapshot.ts'
import type { HostPort, Taint, Toleration } from './types.ts'

/**
 * The filters: does a pod fit a node, and if not, why, in Kubernetes' words
 * (the reasons its default plugins give, which `describe pod` shows in
 * FailedScheduling). They run in the order of Kubernetes' default profile
 * and the first that refuses decides the node's reasons, as there.
 */

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable'
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
export const REASON_CPU = 'Insufficient cpu'
export const REASON_MEMORY = 'Insufficient memory'
export const REASON_PODS = 'Too many pods'

/** `node(s) had untolerated taint {node.kubernetes.io/not-ready: }`: Kubernetes' TaintToleration reason. */
export function taintReason (t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`
}

export interface Filter {
  readonly name: string
  /** The reasons the pod does not fit the node; empty when it fits. */
  check (pod: PodInfo, node: NodeInfo): readonly string[]
}

const NONE: readonly string[] = Object.freeze([])

/** Kubernetes' Toleration.ToleratesTaint: effect (empty: all), key (empty: all, with Exists), then Equal compares values. */
export function tolerates (t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false
  const op = t.operator ?? 'Equal'
  if (op === 'Exists') return true
  if (op === 'Equal' || op === '') return (t.value ?? '') === (taint.value ?? '')
  return false
}

export function toleratesAll (tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some(t => tolerates(t, taint))
}

/** NodeUnschedulable: a cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule. */
export const nodeUnschedulable: Filter = {
  name: 'NodeUnschedulable',
  check (pod, node) {
    if (!node.unschedulable) return NONE
    return toleratesAll(pod.tolerations, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }) ? NONE : [REASON_UNSCHEDULABLE]
  }
}

/** TaintToleration: the first NoSchedule/NoExecute taint the pod does not tolerate (not-ready nodes included). */
export const taintToleration: Filter = {
  name: 'TaintToleration',
  check (pod, node) {
    const taint = node.taints.find(t => !toleratesAll(pod.tolerations, t))
    return taint === undefined ? NONE : [taintReason(taint)]
  }
}

function integer (s: string | undefined): number | undefined {
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined
}

/** One requirement of a node selector term against a value (a label, or a field), Kubernetes' operators. */
export function matchesRequirement (r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? []
  switch (r.operator) {
    case 'In': return value !== undefined && values.includes(value)
    case 'NotIn': return value === undefined || !values.includes(value)
    case 'Exists': return value !== undefined
    case 'DoesNotExist': return value === undefined
    case 'Gt':
    case 'Lt': {
      const have = integer(value)
      const want = integer(values[0])
      if (have === undefined || want === undefined || values.length !== 1) return false
      return r.operator === 'Gt' ? have > want : have < want
    }
    default: return false
  }
}

/** A term matches when all its requirements do; an empty term matches nothing. matchFields knows metadata.name only. */
export function matchesTerm (term: NodeSelectorTerm, node: Pick<NodeInfo, 'name' | 'labels'>): boolean {
  const exprs = term.matchExpressions ?? []
  const fields = term.matchFields ?? []
  if (exprs.length === 0 && fields.length === 0) return false
  return exprs.every(r => matchesRequirement(r, node.labels[r.key])) &&
    fields.every(r => matchesRequirement(r, r.key === 'metadata.name' ? node.name : undefined))
}

/** NodeAffinity: spec.nodeSelector (every label equal) and required node affinity (any term). */
export const nodeAffinity: Filter = {
  name: 'NodeAffinity',
  check (pod, node) {
    for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return [REASON_AFFINITY]
    if (pod.requiredTerms !== undefined && !pod.requiredTerms.some(t => matchesTerm(t, node))) return [REASON_AFFINITY]
    return NONE
  }
}

/** Kubernetes' HostPortInfo.CheckConflict: same protocol and port, and the same IP or either one the wildcard. */
export function portsConflict (a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0')
}

/** NodePorts: every host port the pod wants is free on the node. */
export const nodePorts: Filter = {
  name: 'NodePorts',
  check (pod, node) {
    if (pod.hostPorts.length === 0 || node.usedPorts.length === 0) return NONE
    return pod.hostPorts.some(p => node.usedPorts.some(u => portsConflict(p, u))) ? [REASON_PORTS] : NONE
  }
}

/**
 * NodeResourcesFit: a pod slot, then cpu and memory (each checked only when
 * requested), every shortage reported, against allocatable minus what the
 * node's pods request.
 */
export const nodeResourcesFit: Filter = {
  name: 'NodeResourcesFit',
  check (pod, node) {
    const out: string[] = []
    if (node.podCount + 1 > node.allocatable.pods) out.push(REASON_PODS)
    const want = pod.requests
    if (want.cpuMilli > 0 && node.allocatable.cpuMilli < want.cpuMilli + node.requested.cpuMilli) out.push(REASON_CPU)
    if (want.memoryBytes > 0 && node.allocatable.memoryBytes < want.memoryBytes + node.requested.memoryBytes) out.push(REASON_MEMORY)
    return out.length === 0 ? NONE : out
  }
}

/** Kubernetes' default profile order. */
export const DEFAULT_FILTERS: readonly Filter[] = [nodeUnschedulable, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit]

/** The reasons of the first filter that refuses; empty when the pod fits. */
export function runFilters (filters: readonly Filter[], pod: PodInfo, node: NodeInfo): readonly string[] {
  for (const f of filters) {
    const reasons = f.check(pod, node)
    if (reasons.length > 0) return reasons
  }
  return NONE
}
