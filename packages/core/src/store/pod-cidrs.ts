import type { Failure, KubeObject, ObjectInput } from './types.ts'
import { cloneJson, isRecord } from './merge-patch.ts'
import { containsCIDR, firstOf, formatCIDR, isNetworkAddress, lastOf, networkOf, overlaps, parseCIDR, sizeOf, subnetAt, type Cidr } from '../network/cidr.ts'

/**
 * Each Node's pod range (`spec.podCIDR`, `spec.podCIDRs`), chosen where every
 * write is ordered: when the Raft entry applies, as Services' cluster IPs are
 * (service-addresses.ts). Kubernetes' node-ipam controller allocates from a
 * bitmap of the --cluster-cidr; here the Nodes in the store are the bitmap, so
 * two Nodes can never hold one range, every replica picks the same, and a
 * range is free again once its Node is deleted (the node left for good).
 *
 * The cluster CIDR and the size of each node's range live in the ClusterConfig
 * object, written once by the agent that created the cluster. Until it is
 * there, Nodes get no range: a range from the defaults could differ from the
 * one the creating agent was told to use. The node controller asks again
 * (an update of a Node without a range, see controllers/nodes.ts) once the
 * ClusterConfig exists and a range is free, and that update allocates.
 *
 * IPv4 only, one range per node.
 */

/** The cluster-wide settings object (apiVersion shoal.dev/v1, kind ClusterConfig), cluster-scoped. */
export const CLUSTER_CONFIG = Object.freeze({ resource: 'clusterconfigs', name: 'cluster' } as const)

/** Kubernetes' defaults (kube-controller-manager --cluster-cidr as kubeadm/flannel set it, --node-cidr-mask-size). */
export const POD_CIDR_DEFAULTS = Object.freeze({ clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 })
/** The smallest range a node may get: /28 is 16 addresses, 14 of them for pods. */
export const MAX_NODE_CIDR_MASK_SIZE = 28

export interface PodCIDRSettings {
  readonly clusterCIDR: Cidr
  readonly nodeCIDRMaskSize: number
}

type Rec = Record<string, unknown>

// ---------------------------------------------------------------- settings

/**
 * What is wrong with a cluster CIDR and node mask size, if anything: an IPv4
 * CIDR with its host bits zero, and a mask size from its prefix + 1 (at least
 * two ranges) to MAX_NODE_CIDR_MASK_SIZE (at least a few pods per node).
 * Messages name no flag or field; the caller says which.
 */
export function checkPodCIDRSettings (clusterCIDR: string, nodeCIDRMaskSize: number): Array<{ field: 'clusterCIDR' | 'nodeCIDRMaskSize', message: string }> {
  const problems: Array<{ field: 'clusterCIDR' | 'nodeCIDRMaskSize', message: string }> = []
  const cidr = parseCIDR(clusterCIDR)
  if (cidr === undefined) {
    problems.push({ field: 'clusterCIDR', message: `must be an IPv4 CIDR such as ${POD_CIDR_DEFAULTS.clusterCIDR}, got ${JSON.stringify(clusterCIDR)}` })
  } else if (!isNetworkAddress(cidr)) {
    problems.push({ field: 'clusterCIDR', message: `must have its host bits zero: ${clusterCIDR} is in the network ${formatCIDR(networkOf(cidr))}` })
  }
  if (cidr !== undefined && cidr.prefix >= MAX_NODE_CIDR_MASK_SIZE) {
    problems.push({ field: 'clusterCIDR', message: `must be a /${MAX_NODE_CIDR_MASK_SIZE - 1} or larger, room for at least two node ranges of /${MAX_NODE_CIDR_MASK_SIZE}, got ${clusterCIDR}` })
    return problems
  }
  const min = cidr === undefined ? 1 : cidr.prefix + 1
  if (!Number.isInteger(nodeCIDRMaskSize) || nodeCIDRMaskSize < min || nodeCIDRMaskSize > MAX_NODE_CIDR_MASK_SIZE) {
    const range = cidr === undefined ? `at most ${MAX_NODE_CIDR_MASK_SIZE}` : `${min}-${MAX_NODE_CIDR_MASK_SIZE} (longer than the cluster CIDR's /${cidr.prefix}, and at least 16 addresses per node)`
    problems.push({ field: 'nodeCIDRMaskSize', message: `must be ${range}, got ${String(nodeCIDRMaskSize)}` })
  }
  return problems
}

/**
 * The pod range settings a ClusterConfig holds: undefined when there is no
 * ClusterConfig yet (Nodes then get no range), the defaults for what a
 * ClusterConfig written by an older Shoal lacks. A ClusterConfig whose
 * settings are unusable (written by hand) also gives undefined: no range
 * rather than a range from somewhere else.
 */
export function podCIDRSettings (clusterConfig: KubeObject | undefined): PodCIDRSettings | undefined {
  if (clusterConfig === undefined) return undefined
  const spec = isRecord(clusterConfig.spec) ? clusterConfig.spec : {}
  const clusterCIDR = spec.clusterCIDR ?? POD_CIDR_DEFAULTS.clusterCIDR
  const nodeCIDRMaskSize = spec.nodeCIDRMaskSize ?? POD_CIDR_DEFAULTS.nodeCIDRMaskSize
  if (typeof clusterCIDR !== 'string' || typeof nodeCIDRMaskSize !== 'number') return undefined
  if (checkPodCIDRSettings(clusterCIDR, nodeCIDRMaskSize).length > 0) return undefined
  return { clusterCIDR: parseCIDR(clusterCIDR)!, nodeCIDRMaskSize }
}

// ---------------------------------------------------------------- allocation

const specOf = (o: { spec?: unknown }): Rec => isRecord(o.spec) ? o.spec : {}
const nonEmpty = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

/** The pod range a Node holds, if any. */
export function podCIDROf (node: { spec?: unknown }): string | undefined {
  return nonEmpty(specOf(node).podCIDR)
}

/** Every range the Nodes hold (spec.podCIDR and spec.podCIDRs), as far as they parse. */
function heldBy (nodes: Iterable<KubeObject>): Array<{ node: string, cidr: Cidr }> {
  const held: Array<{ node: string, cidr: Cidr }> = []
  for (const n of nodes) {
    const spec = specOf(n)
    const texts = new Set([spec.podCIDR, ...(Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [])].filter((t): t is string => typeof t === 'string'))
    for (const t of texts) {
      const cidr = parseCIDR(t)
      if (cidr !== undefined) held.push({ node: n.metadata.name, cidr })
    }
  }
  return held
}

/**
 * The lowest /nodeCIDRMaskSize subnet of the cluster CIDR that overlaps
 * none of `held`, or undefined when every one is taken.
 */
function lowestFree (settings: PodCIDRSettings, held: readonly Cidr[]): Cidr | undefined {
  const { clusterCIDR: cluster, nodeCIDRMaskSize: mask } = settings
  const base = firstOf(cluster)
  const size = sizeOf(mask)
  // The subnet indexes each held range covers, lowest first; the first gap is the answer.
  const spans = held.filter(c => overlaps(c, cluster))
    .map(c => [Math.floor((Math.max(firstOf(c), base) - base) / size), Math.floor((Math.min(lastOf(c), lastOf(cluster)) - base) / size)] as const)
    .sort((a, b) => a[0] - b[0])
  let k = 0
  for (const [lo, hi] of spans) {
    if (lo > k) break
    k = Math.max(k, hi + 1)
  }
  return subnetAt(cluster, mask, k)
}

/**
 * The range a Node lacking one would get now, or undefined (no ClusterConfig
 * yet, or every range held). `others`: the other Nodes of the cluster.
 */
export function freePodCIDR (others: Iterable<KubeObject>, clusterConfig: KubeObject | undefined): string | undefined {
  const settings = podCIDRSettings(clusterConfig)
  if (settings === undefined) return undefined
  const free = lowestFree(settings, heldBy(others).map(h => h.cidr))
  return free === undefined ? undefined : formatCIDR(free)
}

function invalid (name: string, field: string, value: unknown, detail: string): Failure {
  return { ok: false, reason: 'Invalid', code: 422, field, message: `Node ${JSON.stringify(name)} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}` }
}

function forbidden (name: string, field: string, detail: string): Failure {
  return { ok: false, reason: 'Invalid', code: 422, field, message: `Node ${JSON.stringify(name)} is invalid: ${field}: Forbidden: ${detail}` }
}

/**
 * `input` (a Node being created, or replacing `previous`) with its pod range
 * filled in, or why it cannot have the one it asks for. `otherNodes`: the
 * other Nodes of the cluster; `clusterConfig`: the ClusterConfig object, if
 * written yet.
 *
 * - A range given (spec.podCIDR, or spec.podCIDRs[0]) must be a network of
 *   the configured size inside the cluster CIDR that no other Node holds.
 * - An update that leaves it out keeps the previous one (`kubectl apply` or
 *   `replace` of a manifest without it); once set it cannot change.
 * - Otherwise the lowest free range, with spec.podCIDRs = [spec.podCIDR].
 *   None free, or no ClusterConfig yet: the Node is stored without a range
 *   (its create or update still succeeds); a later update allocates.
 */
export function allocatePodCIDR (input: ObjectInput, previous: KubeObject | undefined, otherNodes: Iterable<KubeObject>, clusterConfig: KubeObject | undefined): { ok: true, object: ObjectInput } | Failure {
  if (input.spec !== undefined && !isRecord(input.spec)) return { ok: true, object: input }
  const name = input.metadata.name
  const out = cloneJson(input) as ObjectInput & { spec?: Rec }
  const spec: Rec = out.spec ?? {}
  if (spec.podCIDR !== undefined && typeof spec.podCIDR !== 'string') return invalid(name, 'spec.podCIDR', spec.podCIDR, 'must be a string')
  if (spec.podCIDRs !== undefined && (!Array.isArray(spec.podCIDRs) || !spec.podCIDRs.every(c => typeof c === 'string'))) return invalid(name, 'spec.podCIDRs', spec.podCIDRs, 'must be a list of strings')
  const listed = ((spec.podCIDRs ?? []) as string[]).filter(c => c !== '')
  if (listed.length > 1) return invalid(name, 'spec.podCIDRs', spec.podCIDRs, 'may specify no more than one CIDR for each IP family')
  const asked = nonEmpty(spec.podCIDR)
  const before = previous === undefined ? undefined : podCIDROf(previous)
  if (before !== undefined) {
    const changed = asked !== undefined && asked !== before ? 'spec.podCIDR' : listed[0] !== undefined && listed[0] !== before ? 'spec.podCIDRs' : undefined
    if (changed !== undefined) return forbidden(name, changed, 'node updates may not change podCIDR except from "" to valid')
  }
  if (asked !== undefined && listed.length === 1 && listed[0] !== asked) return invalid(name, 'spec.podCIDRs', spec.podCIDRs, `must match spec.podCIDR ${JSON.stringify(asked)}`)
  const given = asked ?? listed[0] ?? before
  const field = asked !== undefined || listed.length === 0 ? 'spec.podCIDR' : 'spec.podCIDRs'

  let cidr: string | undefined
  if (given !== undefined) {
    if (given !== before) {
      const problem = checkGiven(name, field, given, otherNodes, clusterConfig)
      if (problem !== undefined) return problem
    }
    cidr = given
  } else {
    cidr = freePodCIDR(otherNodes, clusterConfig)
    if (cidr === undefined) return { ok: true, object: input }
  }
  spec.podCIDR = cidr
  spec.podCIDRs = [cidr]
  return { ok: true, object: { ...out, spec } }
}

/** Why a range asked for cannot be had, if it cannot. */
function checkGiven (name: string, field: string, given: string, otherNodes: Iterable<KubeObject>, clusterConfig: KubeObject | undefined): Failure | undefined {
  const cidr = parseCIDR(given)
  if (cidr === undefined) return invalid(name, field, given, 'must be a valid IPv4 CIDR (e.g. 10.244.1.0/24)')
  if (!isNetworkAddress(cidr)) return invalid(name, field, given, `must be a network address, with its host bits zero (${formatCIDR(networkOf(cidr))})`)
  const settings = podCIDRSettings(clusterConfig)
  if (settings === undefined) return invalid(name, field, given, 'the cluster CIDR is not configured yet; leave spec.podCIDR empty and a range is allocated once it is')
  const cluster = formatCIDR(settings.clusterCIDR)
  if (!containsCIDR(settings.clusterCIDR, cidr)) return invalid(name, field, given, `must lie inside the cluster CIDR ${cluster}`)
  if (cidr.prefix !== settings.nodeCIDRMaskSize) return invalid(name, field, given, `must be a /${settings.nodeCIDRMaskSize}, the node CIDR mask size of the cluster CIDR ${cluster}`)
  const holder = heldBy(otherNodes).find(h => overlaps(h.cidr, cidr))
  if (holder !== undefined) return invalid(name, field, given, `provided range is already allocated to node ${JSON.stringify(holder.node)}`)
  return undefined
}
