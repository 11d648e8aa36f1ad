import type { Member } from '../members/types.ts'
import type { KubeObject, ObjectCommand, ObjectInput } from '../store/types.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { freePodCIDR, podCIDROf } from '../store/pod-cidrs.ts'
import { eventCommand, nodeIsReady } from './common.ts'

/**
 * The node controller: one Node object per member, kept in step with what
 * gossip knows. A member that is alive or suspect is Ready; one that died or
 * stopped is Ready=Unknown; one that left for good (`shoal leave`) has its
 * Node removed. The controller owns the Node's status and its well-known
 * labels; spec (cordon, taints) and other labels are the user's and kept,
 * and so is `status.images`, which the node's kubelet reports itself.
 *
 * A Node without a pod range (created before the ClusterConfig was written,
 * or while every range was held) is updated as it is once the store would
 * give it one: the store allocates ranges as such writes apply
 * (store/pod-cidrs.ts). Only then, so that a full range costs no writes.
 *
 * Pure: the leader runs it over the members it sees and the Nodes in its
 * replica, and proposes the commands. A write carries the resourceVersion it
 * was computed from, so it never overwrites a change it did not see.
 */

export interface NodeControllerInput {
  readonly members: readonly Member[]
  readonly nodes: readonly KubeObject[]
  /** RFC 3339, for transition times. */
  readonly now: string
  /** Shown as the node's kubelet version: `v1.32.0-shoal-VERSION` (kubectl's VERSION column). */
  readonly kubeletVersion: (agentVersion: string) => string
  /** A unique name for an Event about a node (Kubernetes uses `NODE.HEX`). */
  readonly eventName: (node: string) => string
  /** The ClusterConfig object, once written: Nodes get pod ranges only from it. */
  readonly clusterConfig?: KubeObject | undefined
}

export interface NodeCondition {
  readonly type: string
  readonly status: 'True' | 'False' | 'Unknown'
  readonly reason: string
  readonly message: string
  readonly lastHeartbeatTime: string
  readonly lastTransitionTime: string
}

/** `10.0.0.5:6443` / `[::1]:6443` → the host. */
function hostOf (api: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(api)
  if (v6 !== null) return v6[1]!
  const colon = api.lastIndexOf(':')
  return colon > 0 ? api.slice(0, colon) : api
}

function readyCondition (m: Member): Omit<NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'> {
  if ((m.state === 'alive' || m.state === 'suspect') && m.runtime?.ready === false) {
    return { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: `container runtime is down: ${m.runtime.message ?? 'it does not answer'}` }
  }
  if (m.state === 'alive' || m.state === 'suspect') return { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'shoal agent is posting ready status' }
  if (m.state === 'left') return { type: 'Ready', status: 'Unknown', reason: 'NodeShutdown', message: 'The shoal agent on this node was stopped.' }
  return { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }
}

/** The labels the controller owns, as the kubelet sets them in Kubernetes. */
function ownLabels (m: Member): Record<string, string> {
  return { 'kubernetes.io/hostname': m.name, 'kubernetes.io/os': 'linux' }
}

/** The status a member's Node should have; `previous` keeps transition times across unchanged conditions. */
export function nodeStatus (m: Member, previous: KubeObject | undefined, now: string, kubeletVersion: string): Record<string, unknown> {
  const ready = readyCondition(m)
  const before = ((previous?.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []).find(c => c.type === 'Ready')
  const unchanged = before !== undefined && before.status === ready.status && before.reason === ready.reason
  const condition: NodeCondition = {
    ...ready,
    lastHeartbeatTime: unchanged ? before.lastHeartbeatTime : now,
    lastTransitionTime: unchanged ? before.lastTransitionTime : now
  }
  const resources = { cpu: String(m.capacity.cpus), memory: `${Math.floor(m.capacity.memoryBytes / 1024)}Ki`, pods: String(m.capacity.pods ?? 110) }
  // The node's own kubelet reports its images (images/inventory.ts): kept as it wrote them.
  const images = (previous?.status as { images?: unknown } | undefined)?.images
  return {
    ...(images !== undefined ? { images } : {}),
    capacity: resources,
    allocatable: resources,
    conditions: [condition],
    addresses: [{ type: 'InternalIP', address: hostOf(m.api) }, { type: 'Hostname', address: m.name }],
    daemonEndpoints: { kubeletEndpoint: { Port: Number(m.api.slice(m.api.lastIndexOf(':') + 1)) || 6443 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '',
      osImage: '',
      containerRuntimeVersion: '',
      kubeletVersion,
      kubeProxyVersion: kubeletVersion,
      operatingSystem: 'linux',
      architecture: ''
    }
  }
}

/**
 * The Event Kubernetes' node lifecycle controller records when a node's
 * readiness changes (`describe node` and `get events` show it).
 */
function readinessEvent (node: string, uid: string, ready: boolean, name: string, now: string): ObjectCommand {
  const reason = ready ? 'NodeReady' : 'NodeNotReady'
  // A reference to the Node, as Kubernetes' node controller records one: no resourceVersion.
  const involved = { apiVersion: 'v1', kind: 'Node', metadata: { name: node, uid } } as unknown as KubeObject
  return eventCommand({ name, involved, reason, message: `Node ${node} status is now: ${reason}`, type: ready ? 'Normal' : 'Warning', component: 'node-controller', now })
}

/** The commands that bring the Node objects in line with the members, and Events for readiness changes. */
export function reconcileNodes (input: NodeControllerInput): ObjectCommand[] {
  const { now } = input
  const byName = new Map(input.nodes.map(n => [n.metadata.name, n]))
  const commands: ObjectCommand[] = []
  for (const m of input.members) {
    const current = byName.get(m.name)
    if (m.state === 'left' && m.leaveReason === 'leave') {
      if (current !== undefined) commands.push({ op: 'delete', resource: 'nodes', namespace: '', name: m.name, precondition: { uid: current.metadata.uid } })
      continue
    }
    const status = nodeStatus(m, current, now, input.kubeletVersion(m.version))
    if (current === undefined) {
      const object: ObjectInput = { apiVersion: 'v1', kind: 'Node', metadata: { name: m.name, labels: ownLabels(m) }, spec: {}, status }
      commands.push({ op: 'create', resource: 'nodes', object, uid: '', now })
      continue
    }
    const labels = { ...current.metadata.labels, ...ownLabels(m) }
    const wantsRange = podCIDROf(current) === undefined && freePodCIDR(input.nodes.filter(n => n !== current), input.clusterConfig) !== undefined
    if (!wantsRange && isJsonEqual(labels, current.metadata.labels ?? {}) && isJsonEqual(status, current.status)) continue
    const object: ObjectInput = { ...current, metadata: { ...current.metadata, labels }, status }
    commands.push({ op: 'update', resource: 'nodes', object, now, precondition: { resourceVersion: current.metadata.resourceVersion } })
    const wasReady = nodeIsReady(current)
    const nowReady = nodeIsReady({ ...current, status })
    if (wasReady !== nowReady) commands.push(readinessEvent(m.name, current.metadata.uid, nowReady, input.eventName(m.name), now))
  }
  return commands
}
