import type { KubeObject } from '../store/types.ts'
import { containerRequests, podSpecOf, type ContainerSpec } from './spec.ts'

/**
 * The kubelet's admission (Kubernetes' predicate admit handler, the
 * NodeResourcesFit check the scheduler also makes): a pod bound to a node
 * that cannot hold it is not run but failed at once, so its controller
 * replaces it elsewhere. The scheduler normally prevents this; it happens
 * when pods are bound by hand (spec.nodeName) or capacity changed.
 */

export interface NodeCapacity {
  readonly cpuMilli: number
  readonly memoryBytes: number
  /** The pod limit (Kubernetes' default 110); unchecked when absent. */
  readonly pods?: number
}

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false, readonly reason: string, readonly message: string, readonly status: { readonly phase: 'Failed', readonly reason: string, readonly message: string } }

/**
 * A pod's resource requests as Kubernetes counts them: the sum over its
 * containers (a container's limit when it has no request), or the largest
 * init container when that is more. `perContainer` counts one container
 * (the scheduler's scoring counts one that asks for nothing as 100m/200Mi).
 */
export function podRequests (pod: KubeObject, perContainer: (c: ContainerSpec) => { cpuMilli: number, memoryBytes: number } = containerRequests): { cpuMilli: number, memoryBytes: number } {
  const spec = podSpecOf(pod)
  const sum = { cpuMilli: 0, memoryBytes: 0 }
  for (const c of spec.containers) {
    const r = perContainer(c)
    sum.cpuMilli += r.cpuMilli
    sum.memoryBytes += r.memoryBytes
  }
  for (const c of spec.initContainers) {
    const r = perContainer(c)
    sum.cpuMilli = Math.max(sum.cpuMilli, r.cpuMilli)
    sum.memoryBytes = Math.max(sum.memoryBytes, r.memoryBytes)
  }
  return sum
}

function isTerminated (pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase
  return phase === 'Succeeded' || phase === 'Failed'
}

/**
 * Whether `pod` fits beside the pods already admitted here (those Succeeded
 * or Failed, and `pod` itself, do not count). A rejection carries the
 * status to report, word for word as Kubernetes: phase Failed, reason
 * `OutOfcpu`/`OutOfmemory`/`OutOfpods`, message
 * `Pod Node didn't have enough resource: memory, requested: X, used: Y, capacity: Z`
 * (cpu in millicores, memory in bytes). cpu is checked before memory.
 */
export function admitPod (pod: KubeObject, capacity: NodeCapacity, admitted: readonly KubeObject[]): Admission {
  const others = admitted.filter(p => p.metadata.uid !== pod.metadata.uid && !isTerminated(p))
  const want = podRequests(pod)
  const used = { cpuMilli: 0, memoryBytes: 0 }
  for (const p of others) {
    const r = podRequests(p)
    used.cpuMilli += r.cpuMilli
    used.memoryBytes += r.memoryBytes
  }
  const checks: Array<[string, number, number, number | undefined]> = [
    ['pods', 1, others.length, capacity.pods],
    ['cpu', want.cpuMilli, used.cpuMilli, capacity.cpuMilli],
    ['memory', want.memoryBytes, used.memoryBytes, capacity.memoryBytes]
  ]
  for (const [resource, requested, inUse, cap] of checks) {
    if (cap === undefined || requested === 0 || requested + inUse <= cap) continue
    const reason = `OutOf${resource}`
    const message = `Pod Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${inUse}, capacity: ${cap}`
    return { admitted: false, reason, message, status: { phase: 'Failed', reason, message } }
  }
  return { admitted: true }
}
