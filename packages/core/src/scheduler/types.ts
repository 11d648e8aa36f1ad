import type { KubeObject } from '../store/types.ts'

/**
 * The scheduler's vocabulary. One round takes a snapshot of the store (the
 * pods waiting for a node, the Nodes, the pods already bound) and decides, for
 * every waiting pod, a node or why there is none. It decides only: binding is
 * a write the leader proposes (see bind.ts).
 */

export interface SchedulerInput {
  /** Pods without spec.nodeName. Pods being deleted, finished, gated or for another scheduler are skipped. */
  readonly pending: readonly KubeObject[]
  /** Node objects as the node controller keeps them. */
  readonly nodes: readonly KubeObject[]
  /** Pods with spec.nodeName; those Succeeded or Failed are ignored, those being deleted still hold their resources. */
  readonly bound: readonly KubeObject[]
  /** RFC 3339; the time of the round (the decisions themselves do not depend on it). */
  readonly now: string
}

export interface Binding {
  readonly pod: KubeObject
  readonly nodeName: string
}

export interface Unschedulable {
  readonly pod: KubeObject
  /** Kubernetes' FailedScheduling text: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.` */
  readonly message: string
  /** How many nodes failed for each reason (a node may fail for several: `Insufficient cpu` and `Insufficient memory`). */
  readonly reasons: Readonly<Record<string, number>>
}

export interface SchedulerResult {
  /** In scheduling order; later bindings count the resources of earlier ones. */
  readonly bindings: readonly Binding[]
  readonly unschedulable: readonly Unschedulable[]
}

/** A taint as Node.spec.taints holds it. */
export interface Taint {
  readonly key: string
  readonly value?: string
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | string
}

/** A toleration as Pod.spec.tolerations holds it. */
export interface Toleration {
  readonly key?: string
  readonly operator?: 'Equal' | 'Exists' | string
  readonly value?: string
  readonly effect?: string
  readonly tolerationSeconds?: number
}

/** One host port a pod asks for (a container port with hostPort set). */
export interface HostPort {
  /** '0.0.0.0' when the pod gave none. */
  readonly ip: string
  readonly protocol: string
  readonly port: number
}

export interface Resources {
  readonly cpuMilli: number
  readonly memoryBytes: number
}
