import type { KubeObject, ObjectCommand, ObjectInput } from '../store/types.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { isPodReady, isRecord, namespaceOf, nodeIsReady, objectKey, podNodeName, podPhase, statusUpdate, type Rec } from './common.ts'

/**
 * Services' Endpoints and LoadBalancer status, as Kubernetes' endpoints
 * controller and a service load balancer (k3s' servicelb) keep them.
 *
 * An endpoint is `podIP:targetPort`, as in Kubernetes: every pod has its own
 * IP, reachable from every node and pod (DESIGN.md, "The pod network"). A
 * numeric targetPort is used as is, whether a container declares it or not;
 * a named one is looked up in the pod's container ports (name and
 * protocol), so it can differ from pod to pod, and a subset holds the pods
 * that share one set of resolved ports (Kubernetes' repacking does the
 * same). A pod without a pod IP yet, or that does not declare a named
 * targetPort, is left out (for that port).
 */

/** Marks the Endpoints this controller keeps, so it never deletes ones a user wrote for a selectorless Service. */
export const MANAGED_BY = 'endpoints.kubernetes.io/managed-by'
export const MANAGER = 'shoal-endpoints-controller'

interface ServicePort { readonly name?: string, readonly port: number, readonly protocol: string, readonly targetPort: number | string }
interface EndpointPort { name?: string, port: number, protocol: string }
interface Address { ip: string, nodeName: string, targetRef: { kind: 'Pod', namespace: string, name: string, uid: string } }
interface Subset { addresses?: Address[], notReadyAddresses?: Address[], ports: EndpointPort[] }

const recs = (v: unknown): Rec[] => Array.isArray(v) ? v.filter(isRecord) : []
const specOf = (o: KubeObject): Rec => isRecord(o.spec) ? o.spec : {}

function servicePorts (svc: KubeObject): ServicePort[] {
  return recs(specOf(svc).ports).flatMap(p => typeof p.port !== 'number'
    ? []
    : [{
        ...(typeof p.name === 'string' && p.name !== '' ? { name: p.name } : {}),
        port: p.port,
        protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
        targetPort: typeof p.targetPort === 'number' || (typeof p.targetPort === 'string' && p.targetPort !== '') ? p.targetPort : p.port
      }])
}

/** The selector of a Service that has one (a selectorless Service's Endpoints are the user's). */
function selectorOf (svc: KubeObject): Readonly<Record<string, string>> | undefined {
  const sel = specOf(svc).selector
  if (!isRecord(sel) || Object.keys(sel).length === 0) return undefined
  return sel as Record<string, string>
}

const selects = (sel: Readonly<Record<string, string>>, pod: KubeObject): boolean =>
  Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v)

/**
 * The pod's port for a Service's `targetPort` (podutil.FindPort): a number
 * as is; a name through the pod's container ports of that name and
 * protocol, undefined when none has it.
 */
function podPortFor (pod: KubeObject, target: number | string, protocol: string): number | undefined {
  if (typeof target === 'number') return target
  const declared = recs(specOf(pod).containers).flatMap(c => recs(c.ports)).find(p => p.name === target && (p.protocol ?? 'TCP') === protocol)
  return typeof declared?.containerPort === 'number' ? declared.containerPort : undefined
}

const podIPOf = (pod: KubeObject): string => isRecord(pod.status) && typeof pod.status.podIP === 'string' ? pod.status.podIP : ''

const byAddress = (a: Address, b: Address): number => a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.targetRef.name < b.targetRef.name ? -1 : a.targetRef.name > b.targetRef.name ? 1 : 0

/** The subsets of `svc`'s Endpoints: its pods that have a pod IP, grouped by the ports they are reached on. */
export function endpointSubsets (svc: KubeObject, pods: readonly KubeObject[]): Subset[] {
  const sel = selectorOf(svc)
  if (sel === undefined) return []
  const ports = servicePorts(svc)
  const groups = new Map<string, { ports: EndpointPort[], ready: Address[], notReady: Address[] }>()
  for (const pod of pods) {
    if (namespaceOf(pod) !== namespaceOf(svc) || !selects(sel, pod)) continue
    if (podNodeName(pod) === '' || pod.metadata.deletionTimestamp !== undefined) continue
    const phase = podPhase(pod)
    if (phase === 'Succeeded' || phase === 'Failed') continue
    const ip = podIPOf(pod)
    if (ip === '') continue
    const reached: EndpointPort[] = []
    for (const sp of ports) {
      const port = podPortFor(pod, sp.targetPort, sp.protocol)
      if (port !== undefined) reached.push({ ...(sp.name !== undefined ? { name: sp.name } : {}), port, protocol: sp.protocol })
    }
    if (reached.length === 0) continue
    const key = JSON.stringify(reached)
    let g = groups.get(key)
    if (g === undefined) groups.set(key, g = { ports: reached, ready: [], notReady: [] })
    const address: Address = { ip, nodeName: podNodeName(pod), targetRef: { kind: 'Pod', namespace: namespaceOf(pod), name: pod.metadata.name, uid: pod.metadata.uid } }
    ;(isPodReady(pod) ? g.ready : g.notReady).push(address)
  }
  return [...groups.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, g]) => ({
    ...(g.ready.length > 0 ? { addresses: g.ready.sort(byAddress) } : {}),
    ...(g.notReady.length > 0 ? { notReadyAddresses: g.notReady.sort(byAddress) } : {}),
    ports: g.ports
  }))
}

/**
 * The Services a change to `pod` concerns (the endpoints controller's pod
 * handler): those of its namespace that select it as it is now, and those
 * whose Endpoints list it (it was selected before, or is gone). `services`
 * and `endpoints` are those of the pod's namespace.
 */
export function serviceKeysForPod (pod: KubeObject, services: readonly KubeObject[], endpoints: readonly KubeObject[]): string[] {
  const keys = new Set<string>()
  for (const svc of services) {
    const sel = selectorOf(svc)
    if (sel !== undefined && selects(sel, pod)) keys.add(objectKey(svc))
  }
  const listed = (a: unknown): boolean => isRecord(a) && isRecord(a.targetRef) && a.targetRef.name === pod.metadata.name
  for (const e of endpoints) {
    if (recs(e.subsets).some(s => recs(s.addresses).some(listed) || recs(s.notReadyAddresses).some(listed))) keys.add(objectKey(e))
  }
  return [...keys]
}

export interface EndpointsInput {
  readonly services: readonly KubeObject[]
  readonly pods: readonly KubeObject[]
  readonly endpoints: readonly KubeObject[]
  readonly now: string
}

/**
 * Creates, updates and deletes Endpoints so each Service with a selector has
 * one of its name listing its pods; Endpoints this controller made for a
 * Service that is gone, or lost its selector, are deleted. Updates carry
 * the resourceVersion they were computed from.
 */
export function reconcileEndpoints (input: EndpointsInput): ObjectCommand[] {
  const key = (o: KubeObject): string => `${namespaceOf(o)}/${o.metadata.name}`
  const existing = new Map(input.endpoints.map(e => [key(e), e]))
  const commands: ObjectCommand[] = []
  const wanted = new Set<string>()
  for (const svc of input.services) {
    if (selectorOf(svc) === undefined || svc.metadata.deletionTimestamp !== undefined) continue
    wanted.add(key(svc))
    const subsets = endpointSubsets(svc, input.pods)
    const labels = { ...svc.metadata.labels, [MANAGED_BY]: MANAGER }
    const current = existing.get(key(svc))
    const object: ObjectInput = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: svc.metadata.name, namespace: namespaceOf(svc), labels, ...(current !== undefined ? { resourceVersion: current.metadata.resourceVersion } : {}) },
      subsets
    }
    if (current === undefined) {
      commands.push({ op: 'create', resource: 'endpoints', object, uid: '', now: input.now })
    } else if (!isJsonEqual(current.subsets ?? [], subsets) || !isJsonEqual(current.metadata.labels ?? {}, labels)) {
      commands.push({ op: 'update', resource: 'endpoints', object, now: input.now })
    }
  }
  for (const e of input.endpoints) {
    if (wanted.has(key(e)) || e.metadata.labels?.[MANAGED_BY] !== MANAGER) continue
    commands.push({ op: 'delete', resource: 'endpoints', namespace: namespaceOf(e), name: e.metadata.name, precondition: { uid: e.metadata.uid } })
  }
  return commands
}

/** A node's proxy could not listen for a Service: what its heartbeat says. */
export interface ProxyFailure {
  readonly node: string
  /** `namespace/name` of the Service. */
  readonly service: string
  readonly message: string
}

export interface ServiceStatusInput {
  readonly services: readonly KubeObject[]
  readonly nodes: readonly KubeObject[]
  readonly failures: readonly ProxyFailure[]
  readonly now: string
}

/** The node's InternalIP (the address its agent advertises, where its proxy listens). */
function nodeAddress (node: KubeObject): string | undefined {
  const status = isRecord(node.status) ? node.status : {}
  const ip = recs(status.addresses).find(a => a.type === 'InternalIP')?.address
  return typeof ip === 'string' && ip !== '' ? ip : undefined
}

/** The condition Shoal puts on a Service: whether every Ready node's proxy listens for it. */
export const LISTENING = 'ProxyListening'

/**
 * Service status: `status.loadBalancer.ingress` of a LoadBalancer Service
 * lists the Ready nodes whose proxy listens for it (each with ipMode Proxy:
 * traffic goes through the node's proxy), so `get services` shows an
 * EXTERNAL-IP; every Service that a node's proxy failed to listen for gets
 * a False ProxyListening condition naming the nodes and why.
 */
export function reconcileServiceStatus (input: ServiceStatusInput): ObjectCommand[] {
  const ready = input.nodes.filter(nodeIsReady)
  const commands: ObjectCommand[] = []
  for (const svc of input.services) {
    const spec = specOf(svc)
    const name = `${namespaceOf(svc)}/${svc.metadata.name}`
    const failed = input.failures.filter(f => f.service === name).sort((a, b) => a.node < b.node ? -1 : a.node > b.node ? 1 : 0)
    const failedNodes = new Set(failed.map(f => f.node))
    const status: Rec = isRecord(svc.status) ? { ...svc.status } : {}
    const before = structuredClone(status)
    if (spec.type === 'LoadBalancer') {
      const ips = [...new Set(ready.filter(n => !failedNodes.has(n.metadata.name)).map(nodeAddress).filter((ip): ip is string => ip !== undefined))].sort()
      status.loadBalancer = ips.length > 0 ? { ingress: ips.map(ip => ({ ip, ipMode: 'Proxy' })) } : {}
    } else if (isRecord(status.loadBalancer) && status.loadBalancer.ingress !== undefined) {
      status.loadBalancer = {}
    }
    const old = recs(status.conditions).find(c => c.type === LISTENING)
    const others = recs(status.conditions).filter(c => c.type !== LISTENING)
    if (failed.length > 0 || old !== undefined) {
      const cond = failed.length > 0
        ? { type: LISTENING, status: 'False', reason: 'ListenFailed', message: failed.map(f => `node ${f.node}: ${f.message}`).join('; ') }
        : { type: LISTENING, status: 'True', reason: 'Listening', message: 'every node\'s proxy listens for this service' }
      const same = old !== undefined && old.status === cond.status && old.reason === cond.reason && old.message === cond.message
      const transition = old !== undefined && old.status === cond.status ? old.lastTransitionTime : input.now
      status.conditions = [...others, same ? old : { ...cond, lastTransitionTime: transition, observedGeneration: svc.metadata.generation ?? 1 }]
    }
    if (!isJsonEqual(before, status)) commands.push(statusUpdate('services', svc, status, input.now))
  }
  return commands
}
