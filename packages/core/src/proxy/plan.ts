import type { KubeObject } from '../store/types.ts'
import { isRecord } from '../store/merge-patch.ts'

/**
 * The service proxy's decisions, pure: where a node listens for which
 * Service port, and which endpoint a new connection tries first. The agent
 * (agent/proxy) opens the sockets and moves the bytes.
 *
 * Every node listens, for each TCP port of each Service:
 * - ClusterIP (every type but headless and ExternalName): on the cluster IP
 *   and the service `port`. The agent puts the cluster IPs on the node's
 *   loopback interface, as kube-proxy's IPVS mode puts them on a dummy
 *   one, so the node itself and its pods (through the Docker bridge's
 *   gateway) reach them; the socket shares the address (SO_REUSEPORT) with
 *   other agents on the same host.
 * - NodePort and LoadBalancer: on the node's advertised address and the
 *   `nodePort`.
 * - LoadBalancer: also on the node's advertised address and the service
 *   `port`, as k3s' service load balancer does; the Service's
 *   `status.loadBalancer.ingress` lists the nodes.
 * Two Services that want one address and port: the older one has it, the
 * other is told why (k3s' second LoadBalancer on a port stays pending too).
 */

export type ListenerKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer'

export interface Listener {
  /** `ip:port`, unique on a node. */
  readonly key: string
  readonly ip: string
  readonly port: number
  /** Shared with other processes on the host (cluster IPs). */
  readonly reusePort: boolean
  readonly kind: ListenerKind
  /** `namespace/name` of the Service. */
  readonly service: string
  /** The ServicePort's name ('' when it has none): the Endpoints port it forwards to. */
  readonly portName: string
  /** ClientIP session affinity: how long a client sticks to its endpoint, s; undefined without affinity. */
  readonly affinitySeconds?: number
}

export interface ListenerProblem {
  readonly service: string
  readonly message: string
}

type Rec = Record<string, unknown>
const recs = (v: unknown): Rec[] => Array.isArray(v) ? v.filter(isRecord) : []
const str = (v: unknown): string => typeof v === 'string' ? v : ''
const keyOfService = (s: KubeObject): string => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`

/** Kubernetes' default ClientIP affinity timeout: 3 hours. */
export const DEFAULT_AFFINITY_SECONDS = 10_800

function affinityOf (spec: Rec): number | undefined {
  if (spec.sessionAffinity !== 'ClientIP') return undefined
  const cfg = isRecord(spec.sessionAffinityConfig) && isRecord(spec.sessionAffinityConfig.clientIP) ? spec.sessionAffinityConfig.clientIP : {}
  return typeof cfg.timeoutSeconds === 'number' && cfg.timeoutSeconds > 0 ? cfg.timeoutSeconds : DEFAULT_AFFINITY_SECONDS
}

/** Older first, then by name: who keeps an address two Services want. */
function byAge (a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp
  const tb = b.metadata.creationTimestamp
  if (ta !== tb) return ta < tb ? -1 : 1
  const ka = keyOfService(a)
  const kb = keyOfService(b)
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

/** What this node (advertising `nodeAddress`) listens on for `services`, and what it cannot serve. */
export function listenersFor (services: readonly KubeObject[], nodeAddress: string): { listeners: Listener[], problems: ListenerProblem[] } {
  const listeners = new Map<string, Listener>()
  const problems: ListenerProblem[] = []
  for (const svc of [...services].sort(byAge)) {
    const spec = isRecord(svc.spec) ? svc.spec : {}
    const service = keyOfService(svc)
    const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP'
    if (type === 'ExternalName') continue
    const clusterIP = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None' ? spec.clusterIP : undefined
    const affinity = affinityOf(spec)
    for (const p of recs(spec.ports)) {
      if (typeof p.port !== 'number') continue
      if ((p.protocol ?? 'TCP') !== 'TCP') {
        problems.push({ service, message: `port ${p.port}/${String(p.protocol)}: only TCP is proxied` })
        continue
      }
      const portName = str(p.name)
      const want = (ip: string, port: number, kind: ListenerKind, reusePort: boolean): void => {
        const key = `${ip}:${port}`
        const held = listeners.get(key)
        if (held !== undefined) {
          if (held.service !== service) problems.push({ service, message: `${key} is already served for service ${held.service}` })
          return
        }
        listeners.set(key, { key, ip, port, reusePort, kind, service, portName, ...(affinity !== undefined ? { affinitySeconds: affinity } : {}) })
      }
      if (clusterIP !== undefined) want(clusterIP, p.port, 'ClusterIP', true)
      if ((type === 'NodePort' || type === 'LoadBalancer') && typeof p.nodePort === 'number' && p.nodePort > 0) want(nodeAddress, p.nodePort, 'NodePort', false)
      if (type === 'LoadBalancer') want(nodeAddress, p.port, 'LoadBalancer', false)
    }
  }
  return { listeners: [...listeners.values()], problems }
}

/** A place a connection may go: an endpoint of the Service, the pod's IP and port. */
export interface Backend {
  readonly ip: string
  readonly port: number
  /** The pod (namespace and name) and the node it runs on ('' when the Endpoints do not say). */
  readonly namespace: string
  readonly pod: string
  readonly node: string
}

/** The ready endpoints of the Endpoints port named `portName`, in a stable order. */
export function backendsFor (endpoints: KubeObject | undefined, portName: string): Backend[] {
  const out: Backend[] = []
  for (const subset of recs(endpoints?.subsets)) {
    const port = recs(subset.ports).find(p => str(p.name) === portName && (p.protocol ?? 'TCP') === 'TCP')
    if (typeof port?.port !== 'number') continue
    for (const a of recs(subset.addresses)) {
      if (typeof a.ip !== 'string') continue
      const ref = isRecord(a.targetRef) ? a.targetRef : {}
      out.push({ ip: a.ip, port: port.port, namespace: str(ref.namespace) || str(endpoints?.metadata.namespace), pod: str(ref.name), node: str(a.nodeName) })
    }
  }
  return out.sort((a, b) => a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port)
}

/**
 * Where to reach a backend whose pod is not on the pod network: the pod of
 * an agent that keeps its pods on Docker's bridge (--pod-network=docker,
 * e.g. one started with --publish-address: it runs in a container and
 * drives the host's engine), whose pod IP lies outside the cluster CIDR and
 * is reached only through the ports Docker published for it. That is the
 * published `hostIP:hostPort` of the backend's port when the pod's
 * `status.hostPorts` has it; undefined otherwise, and the backend is
 * reached as it is, at its pod IP: always so for a pod on the pod network
 * (`onPodNetwork(podIP)`), even one with a hostPort.
 */
export function publishedTarget (backend: Backend, pod: KubeObject | undefined, onPodNetwork: (ip: string) => boolean): { ip: string, port: number } | undefined {
  if (onPodNetwork(backend.ip)) return undefined
  const status = isRecord(pod?.status) ? pod.status : {}
  const published = recs(status.hostPorts).find(h => h.containerPort === backend.port && (h.protocol ?? 'TCP') === 'TCP')
  return typeof published?.hostIP === 'string' && published.hostIP !== '' && typeof published.hostPort === 'number' ? { ip: published.hostIP, port: published.hostPort } : undefined
}

const backendKey = (b: Backend): string => `${b.ip}:${b.port}`

/**
 * Which backend each new connection of one listener tries first, and which
 * next if that one refuses: round robin over the ready backends, or, with
 * ClientIP affinity, the client's backend for as long as it stays ready and
 * the client keeps coming back within the timeout.
 */
export class Rotation {
  #next = 0
  readonly #sticky = new Map<string, { backend: string, lastMs: number }>()

  /** The backends in the order to try them; `chosen` must be told which one took the connection. */
  order (backends: readonly Backend[], clientIP: string, nowMs: number, affinitySeconds?: number): Backend[] {
    if (backends.length === 0) return []
    const start = this.#next % backends.length
    this.#next = (start + 1) % backends.length
    const rotated = [...backends.slice(start), ...backends.slice(0, start)]
    if (affinitySeconds === undefined) return rotated
    const s = this.#sticky.get(clientIP)
    if (s === undefined || nowMs - s.lastMs > affinitySeconds * 1000) return rotated
    const i = rotated.findIndex(b => backendKey(b) === s.backend)
    return i <= 0 ? rotated : [rotated[i]!, ...rotated.slice(0, i), ...rotated.slice(i + 1)]
  }

  /** The backend that took a connection from `clientIP`: with affinity, where its next ones go. */
  chosen (backend: Backend, clientIP: string, nowMs: number, affinitySeconds?: number): void {
    if (affinitySeconds === undefined) return
    this.#sticky.set(clientIP, { backend: backendKey(backend), lastMs: nowMs })
    if (this.#sticky.size > 10_000) {
      for (const [ip, s] of this.#sticky) if (nowMs - s.lastMs > affinitySeconds * 1000) this.#sticky.delete(ip)
    }
  }
}
