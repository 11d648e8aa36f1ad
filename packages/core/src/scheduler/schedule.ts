import type { KubeObject } from '../store/types.ts'
import { DEFAULT_FILTERS, runFilters, type Filter } from './filters.ts'
import { fitErrorMessage } from './message.ts'
import { leastAllocatedScore, spreadScore, totalScore } from './score.ts'
import { addPod, hostPortsOf, nodeInfoOf, nonZeroRequests, podInfoOf, spreadKeyOf, type NodeInfo, type PodInfo } from './snapshot.ts'
import { podRequests } from '../kubelet/admit.ts'
import type { Binding, SchedulerInput, SchedulerResult, Unschedulable } from './types.ts'

/**
 * One scheduling round (Kubernetes' scheduling cycle, for every waiting pod
 * in turn): filter the nodes, score the feasible ones, take the best. Each
 * pod placed counts against its node for the pods after it, so a round
 * never over-commits a node. Cost: O(pods × nodes), with per-node running
 * totals; the result depends only on the input (ties go to the node whose
 * name sorts first).
 */

/** The name Kubernetes' scheduler goes by: pods naming another spec.schedulerName are left alone. */
export const SCHEDULER_NAME = 'default-scheduler'

type Rec = Record<string, unknown>

function phaseOf (pod: KubeObject): string | undefined {
  return (pod.status as { phase?: string } | undefined)?.phase
}

function isTerminated (pod: KubeObject): boolean {
  const phase = phaseOf(pod)
  return phase === 'Succeeded' || phase === 'Failed'
}

function nodeNameOf (pod: KubeObject): string | undefined {
  const n = (pod.spec as { nodeName?: unknown } | undefined)?.nodeName
  return typeof n === 'string' && n !== '' ? n : undefined
}

/** Whether this scheduler should place the pod now: unbound, alive, ours, and not held by scheduling gates. */
export function isSchedulable (pod: KubeObject): boolean {
  if (nodeNameOf(pod) !== undefined || pod.metadata.deletionTimestamp !== undefined || isTerminated(pod)) return false
  const spec = (pod.spec ?? {}) as Rec
  if (typeof spec.schedulerName === 'string' && spec.schedulerName !== '' && spec.schedulerName !== SCHEDULER_NAME) return false
  return !(Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0)
}

function priorityOf (pod: KubeObject): number {
  const p = (pod.spec as { priority?: unknown } | undefined)?.priority
  return typeof p === 'number' ? p : 0
}

function timeOf (pod: KubeObject): number {
  const ms = Date.parse(pod.metadata.creationTimestamp)
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms
}

/** The queue's order (Kubernetes' PrioritySort, then FIFO): higher spec.priority first, then older, then namespace/name. */
export function queueOrder (a: PodInfo, b: PodInfo): number {
  return priorityOf(b.pod) - priorityOf(a.pod) || timeOf(a.pod) - timeOf(b.pod) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
}

export interface ScheduleOptions {
  /** The filters to run, in order; default Kubernetes' (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit). */
  readonly filters?: readonly Filter[]
}

export function schedule (input: SchedulerInput, options: ScheduleOptions = {}): SchedulerResult {
  const filters = options.filters ?? DEFAULT_FILTERS
  const nodes = [...input.nodes].sort((a, b) => a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0).map(nodeInfoOf)
  const byName = new Map(nodes.map(n => [n.name, n]))
  /** spread key → node name → pods of that owner on the node. */
  const owners = new Map<string, Map<string, number>>()
  const countOwner = (key: string | undefined, node: string): void => {
    if (key === undefined) return
    let perNode = owners.get(key)
    if (perNode === undefined) owners.set(key, perNode = new Map())
    perNode.set(node, (perNode.get(node) ?? 0) + 1)
  }

  for (const pod of input.bound) {
    const name = nodeNameOf(pod)
    const node = name === undefined ? undefined : byName.get(name)
    if (node === undefined || isTerminated(pod)) continue
    addPod(node, { requests: podRequests(pod), nonZero: nonZeroRequests(pod), hostPorts: hostPortsOf(pod) })
    if (pod.metadata.deletionTimestamp === undefined) countOwner(spreadKeyOf(pod), node.name)
  }

  const queue = input.pending.filter(isSchedulable).map(podInfoOf).sort(queueOrder)

  const bindings: Binding[] = []
  const unschedulable: Unschedulable[] = []
  const feasible: NodeInfo[] = []
  for (const pod of queue) {
    feasible.length = 0
    const reasons: Record<string, number> = {}
    for (const node of nodes) {
      const refused = runFilters(filters, pod, node)
      if (refused.length === 0) feasible.push(node)
      else for (const r of refused) reasons[r] = (reasons[r] ?? 0) + 1
    }
    if (feasible.length === 0) {
      unschedulable.push({ pod: pod.pod, message: fitErrorMessage(nodes.length, reasons), reasons })
      continue
    }
    const best = pickNode(pod, feasible, pod.spreadKey === undefined ? undefined : owners.get(pod.spreadKey))
    addPod(best, pod)
    countOwner(pod.spreadKey, best.name)
    bindings.push({ pod: pod.pod, nodeName: best.name })
  }
  return { bindings, unschedulable }
}

/** The feasible node with the highest total score; `feasible` is in name order and the first best wins. */
function pickNode (pod: PodInfo, feasible: readonly NodeInfo[], ownerCounts: ReadonlyMap<string, number> | undefined): NodeInfo {
  let maxCount = 0
  if (ownerCounts !== undefined) for (const n of feasible) maxCount = Math.max(maxCount, ownerCounts.get(n.name) ?? 0)
  let best = feasible[0]!
  let bestScore = -1
  for (const n of feasible) {
    const requested = { cpuMilli: n.nonZeroRequested.cpuMilli + pod.nonZero.cpuMilli, memoryBytes: n.nonZeroRequested.memoryBytes + pod.nonZero.memoryBytes }
    const spread = ownerCounts === undefined ? 0 : spreadScore(ownerCounts.get(n.name) ?? 0, maxCount)
    const score = totalScore(leastAllocatedScore(requested, n.allocatable), spread)
    if (score > bestScore) {
      best = n
      bestScore = score
    }
  }
  return best
}
