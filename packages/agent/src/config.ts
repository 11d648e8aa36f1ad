import { hostname, networkInterfaces } from 'node:os'
import { isIP } from 'node:net'
import { NETWORK_BACKENDS, type NetworkBackend } from './network/node-network.ts'
import { InvalidConfigError, checkNodeName, resolveMembersConfig, type MembersConfig } from '@shoal/core'
import { checkPodCIDRSettings } from '@shoal/core/store/pod-cidrs.ts'
import { formatCIDR, networkOf, overlaps, parseCIDR, parseIPv4 } from '@shoal/core/network/cidr.ts'
import { SERVICE_CIDR } from '@shoal/core/store/service-addresses.ts'
import { DEFAULT_MESH_PORT, defaultDataDir, parseHostPort } from './places.ts'
import { AGENT_DEFAULTS } from './options.ts'

export { DEFAULT_API_PORT, DEFAULT_MESH_PORT, defaultDataDir, formatHostPort, parseHostPort, userKubeconfigPath } from './places.ts'

export interface AgentConfig {
  /** Where identity, cluster and state live. */
  readonly dataDir: string
  /** Node name, unique in the cluster. */
  readonly name: string
  /** Address to listen on for the mesh and the API. */
  readonly bind: string
  /** Address the other members use to reach this one. */
  readonly advertise: string
  /** Mesh (libp2p) TCP port. */
  readonly port: number
  /** HTTP API TCP port. */
  readonly apiPort: number
  /** `HOST[:PORT]` of a member to join through, on first start. */
  readonly join?: string
  /** Join token, printed by `shoal token` on a member. */
  readonly token?: string
  /** How long the first join keeps trying while the member does not answer (backoff 1 s doubling to 30 s), ms; 0: fail at once. */
  readonly joinRetryMs: number
  readonly members: MembersConfig
  /** Voters the cluster keeps (odd, 1–7); only the agent that creates the cluster uses it. */
  readonly voters: number
  /** The pods' addresses, an IPv4 CIDR (Kubernetes' --cluster-cidr); only the agent that creates the cluster uses it. */
  readonly clusterCIDR: string
  /** Prefix length of each node's pod range within clusterCIDR (/24: 256 addresses); only the agent that creates the cluster uses it. */
  readonly nodeCIDRMaskSize: number
  /** One Raft tick, ms: elections start after 10–20 ticks of silence, the leader heartbeats every 2 ticks. */
  readonly raftTickMs: number
  /** A voter down this long is replaced by a learner, ms. */
  readonly voterGraceMs: number
  /** The kubelet's crash-loop backoff: first delay and cap, ms (Kubernetes: 10 s doubling to 5 min). */
  readonly backoffInitialMs: number
  readonly backoffMaxMs: number
  /** The most pods this node runs (--max-pods, the kubelet's): its Node's pods capacity, which the scheduler and admission count. */
  readonly maxPods: number
  /** The Docker engine's socket. */
  readonly dockerSocket: string
  /**
   * What runs the pods (--runtime): `docker`, the engine at dockerSocket, or
   * `hollow`, a simulated engine that runs nothing (kubelet/hollow.ts), for
   * benchmarks and tests of the control plane only.
   */
  readonly runtime: RuntimeMode
  /**
   * Where the engine publishes pods' ports (--publish-address), only when
   * that is not the advertised address: the agent runs in a container and
   * drives the host's engine. Then the proxy reaches even this node's pods
   * there. Undefined: the engine runs beside the agent.
   */
  readonly publishAddress?: string
  /**
   * Where pods live (--pod-network): `shoal`, the pod network (each pod an
   * address from the node's range on the agent's bridge, routed between
   * nodes), or `docker`, Docker's default bridge with declared ports
   * published on the node, for an agent that cannot manage the host's
   * network (not root, or its engine elsewhere: --publish-address).
   */
  readonly podNetwork: PodNetworkMode
  /** How other nodes' pods are reached on the pod network (--network-backend): host-gw routes, a VXLAN overlay, or auto (host-gw on a shared link, VXLAN beyond). */
  readonly networkBackend: NetworkBackend
  /** A node not Ready this long has its pods deleted, to be replaced elsewhere, ms. */
  readonly podEvictionTimeoutMs: number
  /** The leader's loops this agent runs when it leads (`--controllers`, as kube-controller-manager takes it). */
  readonly controllers: readonly ControllerName[]
}

export const POD_NETWORK_MODES = ['shoal', 'docker'] as const
export type PodNetworkMode = typeof POD_NETWORK_MODES[number]
export const RUNTIME_MODES = ['docker', 'hollow'] as const
/** The highest --max-pods taken: what membership's wire format accepts (core/members/wire.ts). */
export const MAX_PODS_LIMIT = 10_000
export type RuntimeMode = typeof RUNTIME_MODES[number]

/** The leader's loops, by the names `--controllers` takes. */
export const CONTROLLERS = ['nodes', 'nodelifecycle', 'garbagecollector', 'deployment', 'replicaset', 'scheduler', 'endpoint', 'service'] as const
export type ControllerName = typeof CONTROLLERS[number]

/**
 * `--controllers`: a comma-separated list of names, `*` for all of them, and
 * `-NAME` to leave one out (`*,-scheduler`), as kube-controller-manager reads
 * its flag of the same name.
 */
export function parseControllers (spec: string, problems: string[]): ControllerName[] {
  const on = new Set<ControllerName>()
  for (const raw of spec.split(',').map(x => x.trim()).filter(x => x !== '')) {
    const off = raw.startsWith('-')
    const name = off ? raw.slice(1) : raw
    if (name === '*' && !off) {
      for (const c of CONTROLLERS) on.add(c)
      continue
    }
    if (!(CONTROLLERS as readonly string[]).includes(name)) {
      problems.push(`--controllers: unknown controller ${JSON.stringify(name)} (known: ${CONTROLLERS.join(', ')}, or *)`)
      continue
    }
    if (off) on.delete(name as ControllerName)
    else on.add(name as ControllerName)
  }
  return CONTROLLERS.filter(c => on.has(c))
}

export type AgentInit = Partial<Omit<AgentConfig, 'members' | 'controllers' | 'podNetwork' | 'runtime'>> & { podNetwork?: PodNetworkMode | 'auto', runtime?: string, members?: Partial<MembersConfig>, controllers?: string | readonly ControllerName[] }

/** The first non-internal IPv4 address of this machine, else loopback. */
export function defaultAdvertise (bind: string): string {
  if (bind !== '0.0.0.0' && bind !== '::') return bind
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

/** What the agent asks of the machine it runs on, injectable for tests. */
export interface HostInfo {
  /** This host's network interfaces by name, as `os.networkInterfaces()` reports them. */
  readonly interfaces: () => Readonly<Record<string, readonly InterfaceAddress[] | undefined>>
}

/** What hostNetworks reads of an `os.NetworkInterfaceInfo`. */
export interface InterfaceAddress {
  readonly address: string
  readonly netmask: string
  readonly family: string
  readonly internal: boolean
  readonly cidr?: string | null
}

const REAL_HOST: HostInfo = { interfaces: networkInterfaces }

/**
 * The networks of this host's interfaces (address + netmask), leaving out
 * loopback and other internal ones, and the agent's own pod bridges
 * (`shoal*`), which live inside the cluster CIDR by design.
 */
export function hostNetworks (host: HostInfo): Array<{ name: string, network: string }> {
  const out: Array<{ name: string, network: string }> = []
  for (const [name, addrs] of Object.entries(host.interfaces())) {
    if (name.startsWith('shoal')) continue
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue
      const cidr = a.cidr !== null && a.cidr !== undefined ? parseCIDR(a.cidr) : prefixOf(a.netmask) !== undefined ? parseCIDR(`${a.address}/${prefixOf(a.netmask)!}`) : undefined
      if (cidr !== undefined) out.push({ name, network: formatCIDR(networkOf(cidr)) })
    }
  }
  return out
}

/** `255.255.255.0` → 24; undefined for what is not a contiguous IPv4 netmask. */
function prefixOf (netmask: string): number | undefined {
  const n = parseIPv4(netmask)
  if (n === undefined) return undefined
  const bits = n.toString(2).padStart(32, '0')
  return /^1*0*$/.test(bits) ? bits.indexOf('0') < 0 ? 32 : bits.indexOf('0') : undefined
}

/**
 * --cluster-cidr and --node-cidr-mask-size: an IPv4 network with room for
 * at least two node ranges of at least 16 addresses, clear of the Services'
 * cluster IPs and, when this agent may create the cluster (no --join), of
 * every network this host is on (a pod address there would shadow a real
 * host). A joining agent takes the cluster's own CIDR and ignores both.
 */
function checkPodNetwork (clusterCIDR: string, nodeCIDRMaskSize: number, joining: boolean, host: HostInfo, problems: string[]): void {
  const flag = { clusterCIDR: '--cluster-cidr', nodeCIDRMaskSize: '--node-cidr-mask-size' } as const
  const found = checkPodCIDRSettings(clusterCIDR, nodeCIDRMaskSize)
  for (const p of found) problems.push(`${flag[p.field]} ${p.message}`)
  const cidr = parseCIDR(clusterCIDR)
  if (cidr === undefined || found.some(p => p.field === 'clusterCIDR')) return
  const services = { address: parseIPv4(SERVICE_CIDR.base)!, prefix: SERVICE_CIDR.prefix }
  if (overlaps(cidr, services)) problems.push(`--cluster-cidr ${clusterCIDR} overlaps the Service range ${formatCIDR(services)} (the cluster IPs)`)
  if (joining) return
  for (const { name, network } of hostNetworks(host)) {
    if (overlaps(cidr, parseCIDR(network)!)) problems.push(`--cluster-cidr ${clusterCIDR} overlaps the network ${network} of this host's interface ${name}: choose a range no interface of this host uses`)
  }
}

function checkPort (what: string, port: number, problems: string[]): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`${what} must be a TCP port 1-65535, got ${String(port)}`)
}

/** Resolve defaults and check everything once; every problem is reported together. */
export function resolveAgentConfig (init: AgentInit = {}, host: HostInfo = REAL_HOST): AgentConfig {
  const problems: string[] = []
  const bind = init.bind ?? AGENT_DEFAULTS.bind
  if (isIP(bind) === 0) problems.push(`--bind must be an IP address, got ${JSON.stringify(bind)}`)
  const advertise = init.advertise ?? defaultAdvertise(bind)
  if (isIP(advertise) === 0) problems.push(`--advertise must be an IP address, got ${JSON.stringify(advertise)}`)
  else if (advertise === '0.0.0.0' || advertise === '::') problems.push('--advertise must be an address others can reach, not a wildcard')
  const name = init.name ?? hostname().toLowerCase()
  const nameProblem = checkNodeName(name)
  if (nameProblem !== undefined) problems.push(`--name: ${nameProblem}`)
  const port = init.port ?? AGENT_DEFAULTS.port
  const apiPort = init.apiPort ?? AGENT_DEFAULTS.apiPort
  checkPort('--port', port, problems)
  checkPort('--api-port', apiPort, problems)
  if (port === apiPort) problems.push('--port and --api-port must differ')
  if (init.token !== undefined && init.join === undefined) problems.push('--token is only used with --join HOST[:PORT]')
  if (init.join !== undefined) {
    try {
      parseHostPort(init.join, DEFAULT_MESH_PORT)
    } catch (err) {
      problems.push(`--join: ${(err as Error).message}`)
    }
  }
  let members: MembersConfig | undefined
  try {
    members = resolveMembersConfig(init.members)
  } catch (err) {
    if (err instanceof InvalidConfigError) problems.push(...err.problems)
    else throw err
  }
  const voters = init.voters ?? AGENT_DEFAULTS.voters
  if (!Number.isInteger(voters) || voters < 1 || voters > 7 || voters % 2 === 0) problems.push(`--voters must be 1, 3, 5 or 7, got ${String(voters)}`)
  const clusterCIDR = init.clusterCIDR ?? AGENT_DEFAULTS.clusterCIDR
  const nodeCIDRMaskSize = init.nodeCIDRMaskSize ?? AGENT_DEFAULTS.nodeCIDRMaskSize
  checkPodNetwork(clusterCIDR, nodeCIDRMaskSize, init.join !== undefined, host, problems)
  const raftTickMs = init.raftTickMs ?? AGENT_DEFAULTS.raftTickMs
  if (!Number.isInteger(raftTickMs) || raftTickMs < 5 || raftTickMs > 1000) problems.push(`--raft-tick-ms must be 5-1000, got ${String(raftTickMs)}`)
  const voterGraceMs = init.voterGraceMs ?? AGENT_DEFAULTS.voterGraceMs
  if (!Number.isInteger(voterGraceMs) || voterGraceMs < 0) problems.push(`--voter-grace-ms must be a non-negative number of ms, got ${String(voterGraceMs)}`)
  const backoffInitialMs = init.backoffInitialMs ?? AGENT_DEFAULTS.backoffInitialMs
  const backoffMaxMs = init.backoffMaxMs ?? AGENT_DEFAULTS.backoffMaxMs
  if (!Number.isInteger(backoffInitialMs) || backoffInitialMs < 1) problems.push(`--backoff-initial-ms must be a positive number of ms, got ${String(backoffInitialMs)}`)
  if (!Number.isInteger(backoffMaxMs) || backoffMaxMs < backoffInitialMs) problems.push(`--backoff-max-ms must be a number of ms no less than --backoff-initial-ms, got ${String(backoffMaxMs)}`)
  const maxPods = init.maxPods ?? AGENT_DEFAULTS.maxPods
  if (!Number.isInteger(maxPods) || maxPods < 1 || maxPods > MAX_PODS_LIMIT) problems.push(`--max-pods must be a whole number from 1 to ${MAX_PODS_LIMIT}, got ${String(maxPods)}`)
  const podEvictionTimeoutMs = init.podEvictionTimeoutMs ?? AGENT_DEFAULTS.podEvictionTimeoutMs
  if (!Number.isInteger(podEvictionTimeoutMs) || podEvictionTimeoutMs < 0) problems.push(`--pod-eviction-timeout-ms must be a non-negative number of ms, got ${String(podEvictionTimeoutMs)}`)
  const joinRetryMs = init.joinRetryMs ?? AGENT_DEFAULTS.joinRetryMs
  if (!Number.isInteger(joinRetryMs) || joinRetryMs < 0) problems.push(`--join-retry-ms must be a non-negative number of ms, got ${String(joinRetryMs)}`)
  const controllers = parseControllers(typeof init.controllers === 'string' ? init.controllers : init.controllers?.join(',') ?? AGENT_DEFAULTS.controllers, problems)
  // The advertised address given again is no separate address: the engine runs beside the agent.
  const publishAddress = init.publishAddress === '' || init.publishAddress === advertise ? undefined : init.publishAddress
  if (publishAddress !== undefined && (isIP(publishAddress) === 0 || publishAddress === '0.0.0.0' || publishAddress === '::')) problems.push(`--publish-address must be an IP address others can reach, got ${JSON.stringify(publishAddress)}`)
  const podNetworkGiven = init.podNetwork ?? AGENT_DEFAULTS.podNetwork
  let podNetwork: PodNetworkMode = 'docker'
  if (podNetworkGiven === 'auto') podNetwork = publishAddress === undefined && process.getuid?.() === 0 ? 'shoal' : 'docker'
  else if ((POD_NETWORK_MODES as readonly string[]).includes(podNetworkGiven)) podNetwork = podNetworkGiven
  else problems.push(`--pod-network must be auto, shoal or docker, got ${JSON.stringify(podNetworkGiven)}`)
  if (podNetworkGiven === 'shoal' && publishAddress !== undefined) problems.push('--pod-network=shoal needs the Docker engine beside the agent: drop --publish-address, or use --pod-network=docker')
  const networkBackend = init.networkBackend ?? AGENT_DEFAULTS.networkBackend
  if (!(NETWORK_BACKENDS as readonly string[]).includes(networkBackend)) problems.push(`--network-backend must be ${NETWORK_BACKENDS.join(', ')}, got ${JSON.stringify(networkBackend)}`)
  const dockerSocket = init.dockerSocket ?? AGENT_DEFAULTS.dockerSocket
  if (dockerSocket === '') problems.push('--docker-socket must be a path')
  const runtimeGiven = init.runtime ?? AGENT_DEFAULTS.runtime
  const runtime: RuntimeMode = (RUNTIME_MODES as readonly string[]).includes(runtimeGiven) ? runtimeGiven as RuntimeMode : 'docker'
  if (runtime !== runtimeGiven) problems.push(`--runtime must be ${RUNTIME_MODES.join(' or ')}, got ${JSON.stringify(runtimeGiven)}`)
  if (runtime === 'hollow' && podNetworkGiven === 'shoal') problems.push('--runtime=hollow runs no pods on a network: drop --pod-network=shoal')
  // A hollow runtime's pods have no network to make: they never get the pod network's bridge and rules.
  if (runtime === 'hollow') podNetwork = 'docker'
  if (problems.length > 0 || members === undefined) throw new InvalidConfigError(problems)
  return Object.freeze({ dataDir: init.dataDir ?? defaultDataDir(), name, bind, advertise, port, apiPort, join: init.join, token: init.token, joinRetryMs, members, voters, clusterCIDR, nodeCIDRMaskSize, raftTickMs, voterGraceMs, backoffInitialMs, backoffMaxMs, maxPods, dockerSocket, runtime, ...(publishAddress !== undefined ? { publishAddress } : {}), podNetwork, networkBackend, podEvictionTimeoutMs, controllers })
}

