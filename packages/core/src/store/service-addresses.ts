import type { Failure, KubeObject, ObjectInput } from './types.ts'
import { cloneJson, isRecord } from './merge-patch.ts'
import { formatIPv4, parseIPv4 } from '../network/cidr.ts'

/**
 * A Service's cluster IP and node ports, chosen where every write is
 * ordered: when the Raft entry applies. Kubernetes' api server allocates
 * them from bitmaps kept in etcd (ipallocator, portallocator); here the
 * store is the bitmap, so two creates proposed at once on two agents can
 * never get the same address, and every replica picks the same one.
 *
 * - `spec.clusterIP`: given, kept from the stored object, or the lowest free
 *   address of SERVICE_CIDR. `None` (headless) and ExternalName services get none.
 * - `spec.ports[].nodePort` (NodePort and LoadBalancer services): given,
 *   kept from the stored port with the same port and protocol, or the lowest
 *   free one of NODE_PORTS.
 * A given address that another Service holds is refused, as Kubernetes does.
 */

/** The cluster IPs: 10.96.0.0/16 (Kubernetes' default range is 10.96.0.0/12); the network address is never handed out. */
export const SERVICE_CIDR = Object.freeze({ base: '10.96.0.0', prefix: 16 })
/** Kubernetes' default --service-node-port-range. */
export const NODE_PORTS = Object.freeze({ min: 30000, max: 32767 })

type Rec = Record<string, unknown>

const RANGE_FIRST = parseIPv4(SERVICE_CIDR.base)! + 1
const RANGE_LAST = parseIPv4(SERVICE_CIDR.base)! + 2 ** (32 - SERVICE_CIDR.prefix) - 2

/** Whether `ip` is a cluster IP Shoal may hand out (inside SERVICE_CIDR, not its network or broadcast address). */
export function inServiceRange (ip: string): boolean {
  const n = parseIPv4(ip)
  return n !== undefined && n >= RANGE_FIRST && n <= RANGE_LAST
}

const records = (v: unknown): Rec[] => Array.isArray(v) ? v.filter(isRecord) : []
const specOf = (o: { spec?: unknown }): Rec => isRecord(o.spec) ? o.spec : {}
const usesNodePorts = (spec: Rec): boolean => spec.type === 'NodePort' || spec.type === 'LoadBalancer'
const hasClusterIP = (spec: Rec): boolean => spec.type !== 'ExternalName' && spec.clusterIP !== 'None'

function invalid (name: string, field: string, value: unknown, detail: string): Failure {
  return { ok: false, reason: 'Invalid', code: 422, field, message: `Service ${JSON.stringify(name)} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}` }
}

/**
 * `input` (a Service being created, or replacing `previous`) with its cluster
 * IP and node ports filled in, or why it cannot have what it asks for.
 * `others` are the other Services of the cluster, any namespace.
 */
export function allocateServiceAddresses (input: ObjectInput, previous: KubeObject | undefined, others: Iterable<KubeObject>): { ok: true, object: ObjectInput } | Failure {
  if (!isRecord(input.spec)) return { ok: true, object: input }
  const name = input.metadata.name
  const takenIPs = new Set<string>()
  const takenPorts = new Set<number>()
  for (const o of others) {
    const s = specOf(o)
    if (typeof s.clusterIP === 'string') takenIPs.add(s.clusterIP)
    for (const p of records(s.ports)) if (typeof p.nodePort === 'number') takenPorts.add(p.nodePort)
  }
  const out = cloneJson(input) as ObjectInput & { spec: Rec }
  const spec = out.spec
  const before = previous !== undefined ? specOf(previous) : {}

  if (hasClusterIP(spec)) {
    if ((spec.clusterIP === undefined || spec.clusterIP === '') && typeof before.clusterIP === 'string' && before.clusterIP !== 'None') spec.clusterIP = before.clusterIP
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '') {
      if (spec.clusterIP !== before.clusterIP) {
        if (!inServiceRange(spec.clusterIP)) return invalid(name, 'spec.clusterIP', spec.clusterIP, `provided IP is not in the valid range. The range of valid IPs is ${SERVICE_CIDR.base}/${SERVICE_CIDR.prefix}`)
        if (takenIPs.has(spec.clusterIP)) return invalid(name, 'spec.clusterIP', spec.clusterIP, 'provided IP is already allocated')
      }
    } else {
      let n = RANGE_FIRST
      while (n <= RANGE_LAST && takenIPs.has(formatIPv4(n))) n++
      if (n > RANGE_LAST) return invalid(name, 'spec.clusterIP', '', `range is full: every address of ${SERVICE_CIDR.base}/${SERVICE_CIDR.prefix} is allocated`)
      spec.clusterIP = formatIPv4(n)
    }
    spec.clusterIPs = [spec.clusterIP]
  }

  if (usesNodePorts(spec)) {
    const ports = records(spec.ports)
    const oldPorts = records(before.ports)
    const mine = new Set<number>()
    // Given ports first, so a port allocated for another entry never takes one asked for further down.
    for (const [i, p] of ports.entries()) {
      if (typeof p.nodePort !== 'number' || p.nodePort === 0) continue
      const kept = oldPorts.some(o => o.nodePort === p.nodePort)
      if (!kept && takenPorts.has(p.nodePort)) return invalid(name, `spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated')
      mine.add(p.nodePort)
    }
    let next = NODE_PORTS.min
    for (const [i, p] of ports.entries()) {
      if (typeof p.nodePort === 'number' && p.nodePort !== 0) continue
      const old = oldPorts.find(o => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'))
      if (typeof old?.nodePort === 'number' && !mine.has(old.nodePort)) {
        p.nodePort = old.nodePort
      } else {
        while (next <= NODE_PORTS.max && (takenPorts.has(next) || mine.has(next))) next++
        if (next > NODE_PORTS.max) return invalid(name, `spec.ports[${i}].nodePort`, 0, `range is full: every port of ${NODE_PORTS.min}-${NODE_PORTS.max} is allocated`)
        p.nodePort = next
      }
      mine.add(p.nodePort as number)
    }
  }
  return { ok: true, object: out }
}
