import type { KubeObject, OwnerReference } from '../store/types.ts'

/** Builders for the scheduler's tests: Nodes as the node controller writes them, and pods. */

export const NOW = '2026-01-01T00:00:00Z'
const T0 = Date.parse(NOW)
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString().replace('.000Z', 'Z')

export interface NodeOptions {
  readonly cpu?: string
  readonly memory?: string
  readonly pods?: string
  /** The Ready condition's status; 'none' for no conditions at all. */
  readonly ready?: 'True' | 'False' | 'Unknown' | 'none'
  readonly labels?: Record<string, string>
  readonly taints?: Array<{ key: string, value?: string, effect: string }>
  readonly unschedulable?: boolean
}

export function node (name: string, o: NodeOptions = {}): KubeObject {
  const resources = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' }
  const ready = o.ready ?? 'True'
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: NOW, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...o.labels } },
    spec: { ...(o.taints !== undefined ? { taints: o.taints } : {}), ...(o.unschedulable === true ? { unschedulable: true } : {}) },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: ready === 'none' ? [] : [{ type: 'Ready', status: ready, reason: 'KubeletReady', message: '', lastHeartbeatTime: NOW, lastTransitionTime: NOW }]
    }
  }
}

export interface PodOptions {
  readonly namespace?: string
  readonly cpu?: string
  readonly memory?: string
  /** The uid of the controller (a ReplicaSet) that owns the pod. */
  readonly owner?: string
  readonly labels?: Record<string, string>
  readonly nodeSelector?: Record<string, string>
  readonly affinity?: unknown
  readonly tolerations?: unknown[]
  readonly hostPort?: number
  readonly nodeName?: string
  /** Seconds after NOW. */
  readonly created?: number
  readonly phase?: string
  readonly priority?: number
  readonly spec?: Record<string, unknown>
  readonly meta?: Record<string, unknown>
}

export function pod (name: string, o: PodOptions = {}): KubeObject {
  const requests = { ...(o.cpu !== undefined ? { cpu: o.cpu } : {}), ...(o.memory !== undefined ? { memory: o.memory } : {}) }
  const owner: OwnerReference[] | undefined = o.owner !== undefined ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }] : undefined
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: `uid-${name}`,
      resourceVersion: '10',
      creationTimestamp: at(o.created ?? 0),
      ...(o.labels !== undefined ? { labels: o.labels } : {}),
      ...(owner !== undefined ? { ownerReferences: owner } : {}),
      ...o.meta
    },
    spec: {
      containers: [{
        name: 'c',
        image: 'nginx',
        ...(Object.keys(requests).length > 0 ? { resources: { requests } } : {}),
        ...(o.hostPort !== undefined ? { ports: [{ containerPort: 80, hostPort: o.hostPort, protocol: 'TCP' }] } : {})
      }],
      ...(o.nodeSelector !== undefined ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity !== undefined ? { affinity: o.affinity } : {}),
      ...(o.tolerations !== undefined ? { tolerations: o.tolerations } : {}),
      ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...o.spec
    },
    status: { phase: o.phase ?? (o.nodeName !== undefined ? 'Running' : 'Pending') }
  }
}
