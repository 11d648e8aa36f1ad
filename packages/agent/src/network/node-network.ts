import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { networkInterfaces } from 'node:os'
import type { KubeObject, ObjectStore } from '@shoal/core'
import { gatewayOf } from '@shoal/core/network/ipam.ts'
import { firstOf, formatCIDR, isNetworkAddress, parseCIDR, parseIPv4, type Cidr } from '@shoal/core/network/cidr.ts'
import { CLUSTER_CONFIG, POD_CIDR_DEFAULTS } from '@shoal/core/store/pod-cidrs.ts'
import { runCommand, type CommandRunner } from './command.ts'
import { ensureChain, removeChain } from './iptables.ts'
import { overlayAddress, removeOverlay, syncOverlay, type Peer } from './vxlan.ts'
import { coalescing } from '../serial.ts'
import type { Logger } from '../log.ts'
import { isRecord } from '@shoal/core/store/merge-patch.ts'

/**
 * This node's half of the pod network, kept in line with the store:
 *
 * - a Linux bridge for the node's pod range (`spec.podCIDR`, given through
 *   Raft when the node registered), holding the range's first address as
 *   the pods' gateway; each pod's veth joins it (pod-network.ts);
 * - iptables chains of its own, jumped to from FORWARD and POSTROUTING:
 *   traffic from and to the node's range is forwarded (Docker sets the
 *   FORWARD policy to DROP), and pods reaching beyond the cluster CIDR are
 *   masqueraded behind the node's address;
 * - host-gw routes: every other node's range via that node's address, when
 *   the address is on a link this host shares (flannel's host-gw backend),
 *   marked with protocol ROUTE_PROTO so Shoal finds and removes its own
 *   routes and nothing else. Nodes on this very host (agents sharing one
 *   network stack, on loopback addresses) need no route: their bridges are
 *   local. A node whose agent stopped posting (Ready Unknown) loses its
 *   route until it is back; a deleted Node loses it for good.
 *
 * Every name carries a tag made from the node name, so several agents on
 * one host keep apart. A sync that fails leaves the node not ready, with the
 * command and the kernel's answer as the reason (the Node's Ready condition
 * shows it), and is tried again at the next resync.
 */

/** The protocol number on Shoal's routes (`ip route show proto 83`); 83 is unassigned in /etc/iproute2/rt_protos. */
export const ROUTE_PROTO = '83'

export interface NetworkNames {
  readonly bridge: string
  /** The VXLAN device, when some node is reached through the overlay. */
  readonly vxlan: string
  readonly filterChain: string
  readonly natChain: string
  /** The Service proxy's kernel path (proxy/kernel.ts): DNAT, masquerade and forward. */
  readonly serviceChain: string
  readonly serviceMasqChain: string
  readonly serviceForwardChain: string
}

/** The links and chains of node `node`: `shoal-` + 8 hex digits fits a Linux interface name (15 characters). */
export function networkNames (node: string): NetworkNames {
  const tag = createHash('sha256').update(node).digest('hex').slice(0, 8)
  return {
    bridge: `shoal-${tag}`,
    vxlan: `shvx-${tag}`,
    filterChain: `SHOAL-FWD-${tag}`,
    natChain: `SHOAL-NAT-${tag}`,
    serviceChain: `SHOAL-SVC-${tag}`,
    serviceMasqChain: `SHOAL-SVCM-${tag}`,
    serviceForwardChain: `SHOAL-SVCF-${tag}`
  }
}

/**
 * How other nodes' pods are reached (--network-backend), as flannel's
 * backends: `host-gw` routes a node's range via its address, which only
 * works when the two share a link; `vxlan` goes through a kernel VXLAN
 * overlay, which works wherever the node's address is reachable, at the
 * cost of 50 bytes of each packet and an encapsulation; `auto` takes
 * host-gw for nodes on a shared link and VXLAN for the others.
 */
export const NETWORK_BACKENDS = ['auto', 'host-gw', 'vxlan'] as const
export type NetworkBackend = typeof NETWORK_BACKENDS[number]

export interface NodeNetworkState {
  readonly range: Cidr
  readonly gateway: string
  readonly bridge: string
  readonly clusterCIDR: string
}

export interface NetworkHealth {
  readonly ready: boolean
  readonly message?: string
  /**
   * Not ready only because the node is new: not registered, or its range not
   * handed out yet, which Raft does within moments. The node is not reported
   * NotReady for it (as it would be for a real failure).
   */
  readonly starting?: boolean
}

/** How long a registered node may wait for its pod range before it counts as a failure (an exhausted cluster CIDR), ms. */
export const POD_RANGE_GRACE_MS = 10_000

export interface NodeNetworkComponents {
  readonly node: string
  /** The local replica (a function: a snapshot install replaces it). */
  readonly store: () => ObjectStore
  readonly log: Logger
  readonly run?: CommandRunner
  /** This host's interfaces (tests hand in their own). */
  readonly interfaces?: () => ReturnType<typeof networkInterfaces>
  /** How often the bridge, chains and routes are checked even when the store did not change, ms. */
  readonly resyncMs?: number
  readonly backend?: NetworkBackend
}

export interface NodeNetwork {
  start: () => void
  stop: () => Promise<void>
  /** The node's range and bridge once they are set up. */
  state: () => NodeNetworkState | undefined
  health: () => NetworkHealth
  /** Bring bridge, chains and routes in line now (start() does it on every change). */
  sync: () => Promise<void>
  /** The node left the cluster: remove its bridge, chains and routes. */
  teardown: () => Promise<void>
}

const RESYNC_MS = 10_000 // a route or rule removed by hand comes back within this

type Rec = Record<string, unknown>
const specOf = (o: KubeObject | undefined): Rec => isRecord(o?.spec) ? o.spec : {}

function internalIP (node: KubeObject): string | undefined {
  const addresses = isRecord(node.status) && Array.isArray(node.status.addresses) ? node.status.addresses as Rec[] : []
  const ip = addresses.find(a => a.type === 'InternalIP')?.address
  return typeof ip === 'string' && ip !== '' ? ip : undefined
}

/** Ready Unknown: the node's agent stopped posting (killed, powered off, partitioned away). */
function notPosting (node: KubeObject): boolean {
  const conditions = isRecord(node.status) && Array.isArray(node.status.conditions) ? node.status.conditions as Rec[] : []
  return conditions.some(c => c.type === 'Ready' && c.status === 'Unknown')
}

/** The cluster CIDR from the ClusterConfig; a cluster made before it was stored uses the default. */
export function clusterCIDROf (store: ObjectStore): string {
  const spec = specOf(store.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name))
  return typeof spec.clusterCIDR === 'string' && spec.clusterCIDR !== '' ? spec.clusterCIDR : POD_CIDR_DEFAULTS.clusterCIDR
}

/**
 * Where `ip` is for this host: one of its own addresses (loopback included:
 * an agent on 127.0.0.x shares this host's network stack), on a link it
 * shares (a subnet of one of its interfaces), or beyond.
 */
export function placeOf (ip: string, interfaces: ReturnType<typeof networkInterfaces>): 'local' | 'link' | 'far' {
  const n = parseIPv4(ip)
  if (n === undefined) return 'far'
  if (n >>> 24 === 127) return 'local'
  let link = false
  for (const [name, addrs] of Object.entries(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue
      if (a.address === ip) return 'local'
      if (a.internal || name.startsWith('shoal-')) continue
      const mine = parseIPv4(a.address)
      const prefix = Number(a.cidr?.split('/')[1] ?? 32)
      if (mine !== undefined && firstOf({ address: mine, prefix }) === firstOf({ address: n, prefix })) link = true
    }
  }
  return link ? 'link' : 'far'
}

export function createNodeNetwork (c: NodeNetworkComponents): NodeNetwork {
  const run = c.run ?? runCommand
  const interfaces = c.interfaces ?? networkInterfaces
  const backend = c.backend ?? 'auto'
  const names = networkNames(c.node)
  const log = c.log
  let state: NodeNetworkState | undefined
  let health: NetworkHealth = { ready: false, starting: true, message: 'the pod network is not set up yet' }
  let stopped = true
  let timer: ReturnType<typeof setInterval> | undefined
  let unwatch: (() => void) | undefined
  let watched: ObjectStore | undefined
  const farWarned = new Set<string>()
  /** Whether the VXLAN device may exist (one an earlier run of the agent made counts: true at first). */
  let overlayMade = true

  const setHealth = (next: NetworkHealth): void => {
    if (next.ready !== health.ready || next.message !== health.message || next.starting !== health.starting) {
      if (next.ready) log.info({ bridge: names.bridge, podCIDR: state === undefined ? undefined : formatCIDR(state.range) }, 'pod network ready')
      else log.warn({ reason: next.message }, 'pod network not ready')
    }
    health = next
  }

  const ip = async (lines: readonly string[]): Promise<void> => {
    if (lines.length > 0) await run('ip', ['-batch', '-'], lines.join('\n') + '\n')
  }

  const ensureBridge = async (range: Cidr): Promise<void> => {
    const gateway = `${gatewayOf(range)}/${range.prefix}`
    // Another bridge or link holding the range (an agent of another cluster on this host): its pods would take ours' traffic.
    const routes = JSON.parse(await run('ip', ['-j', 'route', 'show', 'exact', formatCIDR(range)])) as Array<{ dev?: string }>
    const other = routes.find(r => r.dev !== names.bridge)
    if (other !== undefined) throw new Error(`this node's pod range ${formatCIDR(range)} is already routed on this host through ${other.dev ?? 'a gateway'}: another cluster's agent here? give each cluster its own --cluster-cidr`)
    let addrs: string[]
    try {
      const [link] = JSON.parse(await run('ip', ['-j', 'addr', 'show', 'dev', names.bridge])) as Array<{ addr_info?: Array<{ family: string, local: string, prefixlen: number }> }>
      addrs = (link?.addr_info ?? []).filter(a => a.family === 'inet').map(a => `${a.local}/${a.prefixlen}`)
    } catch {
      await run('ip', ['link', 'add', names.bridge, 'type', 'bridge'])
      addrs = []
    }
    await ip([
      ...addrs.filter(a => a !== gateway).map(a => `addr del ${a} dev ${names.bridge}`),
      ...(addrs.includes(gateway) ? [] : [`addr add ${gateway} dev ${names.bridge}`]),
      `link set ${names.bridge} up`
    ])
  }

  const ensureRules = async (range: Cidr, clusterCIDR: string): Promise<void> => {
    await ensureChain(run, 'filter', 'FORWARD', names.filterChain, [`-s ${formatCIDR(range)} -j ACCEPT`, `-d ${formatCIDR(range)} -j ACCEPT`])
    await ensureChain(run, 'nat', 'POSTROUTING', names.natChain, [`-s ${formatCIDR(range)} ! -d ${clusterCIDR} -j MASQUERADE`])
  }

  /** Each other node's range, by the backend that reaches it; nodes on this host and nodes not posting are left out. */
  const planPeers = (store: ObjectStore, selfAddress: string | undefined): { hostGw: Peer[], overlay: Peer[] } => {
    const list = store.list('nodes', {})
    const ifaces = interfaces()
    const hostGw: Peer[] = []
    const overlay: Peer[] = []
    for (const n of list.ok ? list.items : []) {
      if (n.metadata.name === c.node || notPosting(n)) continue
      const range = typeof specOf(n).podCIDR === 'string' ? parseCIDR(specOf(n).podCIDR as string) : undefined
      const address = internalIP(n)
      if (range === undefined || address === undefined || address === selfAddress) continue
      const place = placeOf(address, ifaces)
      if (place === 'local') continue
      if (backend === 'vxlan' || (backend === 'auto' && place === 'far')) overlay.push({ node: n.metadata.name, address, range })
      else if (place === 'link') hostGw.push({ node: n.metadata.name, address, range })
      else if (!farWarned.has(n.metadata.name)) {
        farWarned.add(n.metadata.name)
        log.warn({ node: n.metadata.name, address }, 'node is not on a link this host shares and the backend is host-gw: its pods are not routed (use --network-backend=auto or vxlan)')
      }
    }
    return { hostGw, overlay }
  }

  const syncRoutes = async (store: ObjectStore, selfAddress: string | undefined, range: Cidr): Promise<void> => {
    const { hostGw, overlay } = planPeers(store, selfAddress)
    if (overlay.length > 0 || backend === 'vxlan') {
      if (selfAddress === undefined) throw new Error(`the VXLAN overlay needs this node's address, and node ${c.node} has no InternalIP yet`)
      await syncOverlay({ run, device: names.vxlan, selfAddress, range, peers: overlay, interfaces })
      overlayMade = true
    } else if (overlayMade) {
      await removeOverlay(names.vxlan, run)
      overlayMade = false
    }
    const wanted = new Map<string, string>([
      ...hostGw.map(p => [formatCIDR(p.range), `via ${p.address}`] as const),
      ...overlay.map(p => [formatCIDR(p.range), `via ${overlayAddress(p.range)} dev ${names.vxlan} onlink`] as const)
    ])
    const current = JSON.parse(await run('ip', ['-j', 'route', 'show', 'proto', ROUTE_PROTO])) as Array<{ dst: string, gateway?: string, dev?: string, flags?: string[] }>
    const have = new Map(current.map(r => [r.dst, r.dev === names.vxlan ? `via ${r.gateway ?? ''} dev ${r.dev} onlink` : `via ${r.gateway ?? ''}`]))
    await ip([
      ...[...wanted].filter(([dst, how]) => have.get(dst) !== how).map(([dst, how]) => `route replace ${dst} ${how} proto ${ROUTE_PROTO}`),
      ...[...have.keys()].filter(dst => !wanted.has(dst)).map(dst => `route del ${dst} proto ${ROUTE_PROTO}`)
    ])
  }

  const sync = async (): Promise<void> => {
    const store = c.store()
    if (store !== watched && !stopped) {
      unwatch?.()
      const w = store.watch({ resource: 'nodes' }, () => { runner.request() })
      unwatch = w.ok ? w.stop : undefined
      watched = store
    }
    const self = store.get('nodes', '', c.node)
    const podCIDR = specOf(self).podCIDR
    if (self === undefined) {
      state = undefined
      setHealth({ ready: false, starting: true, message: `node ${c.node} is not registered yet` })
      return
    }
    if (typeof podCIDR !== 'string' || podCIDR === '') {
      state = undefined
      const age = Date.now() - Date.parse(String(self.metadata?.creationTimestamp ?? ''))
      const starting = store.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name) === undefined || !(age >= POD_RANGE_GRACE_MS)
      setHealth(starting
        ? { ready: false, starting, message: `node ${c.node} has no pod range (spec.podCIDR) yet` }
        : { ready: false, message: `node ${c.node} got no pod range (spec.podCIDR): the cluster CIDR ${clusterCIDROf(store)} has none free; one frees up when a node leaves for good` })
      return
    }
    const range = parseCIDR(podCIDR)
    if (range === undefined || !isNetworkAddress(range)) {
      state = undefined
      setHealth({ ready: false, message: `node ${c.node} has an unusable pod range ${JSON.stringify(podCIDR)}` })
      return
    }
    const clusterCIDR = clusterCIDROf(store)
    try {
      await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n').catch(async () => {
        throw new Error('cannot enable IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)')
      })
      await ensureBridge(range)
      await ensureRules(range, clusterCIDR)
      await syncRoutes(store, internalIP(self), range)
      state = { range, gateway: gatewayOf(range), bridge: names.bridge, clusterCIDR }
      setHealth({ ready: true })
    } catch (err) {
      setHealth({ ready: false, message: `pod network: ${(err as Error).message}` })
      throw err
    }
  }

  const runner = coalescing(sync, err => log.debug({ err: err.message }, 'pod network sync failed'), () => !stopped)

  return {
    start () {
      stopped = false
      runner.request()
      timer = setInterval(() => runner.request(), c.resyncMs ?? RESYNC_MS)
      timer.unref()
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      unwatch?.()
      unwatch = undefined
      watched = undefined
      await runner.idle()
    },
    state: () => state,
    health: () => health,
    sync: async () => { await sync() },
    async teardown () {
      await removeNetwork(c.node, run)
      state = undefined
    }
  }
}

/**
 * Remove node `node`'s bridge, chains and Shoal's routes from this host
 * (when it leaves the cluster, and for tests cleaning up after an agent
 * they killed). What is already gone is fine.
 */
export async function removeNetwork (node: string, run: CommandRunner = runCommand): Promise<void> {
  const names = networkNames(node)
  await removeChain(run, 'filter', 'FORWARD', names.filterChain)
  await removeChain(run, 'nat', 'POSTROUTING', names.natChain)
  await removeServiceChains(node, run)
  await run('ip', ['link', 'del', names.bridge]).catch(() => {})
  await removeOverlay(names.vxlan, run)
  await run('ip', ['route', 'flush', 'proto', ROUTE_PROTO]).catch(() => {})
}

/** Remove node `node`'s Service chains (proxy/kernel.ts) from this host; what is already gone is fine. */
export async function removeServiceChains (node: string, run: CommandRunner = runCommand): Promise<void> {
  const names = networkNames(node)
  await removeChain(run, 'nat', ['PREROUTING', 'OUTPUT'], names.serviceChain)
  await removeChain(run, 'nat', 'POSTROUTING', names.serviceMasqChain)
  await removeChain(run, 'filter', 'FORWARD', names.serviceForwardChain)
}
