import type { networkInterfaces } from 'node:os'
import { firstOf, formatIPv4, parseIPv4, type Cidr } from '@shoal/core/network/cidr.ts'
import type { CommandRunner } from './command.ts'

/**
 * The VXLAN overlay, for nodes that share no link with this one (flannel's
 * vxlan backend, without its daemon): one VXLAN device per node, with the
 * node's address as its tunnel endpoint and the network address of the
 * node's range (10.244.3.0/32) as its own. For each peer, the kernel gets
 * three static entries and learns nothing by itself:
 * - a route: the peer's range via the peer's range network address, on the device;
 * - a neighbour: that address has the peer device's MAC;
 * - a forwarding entry: frames for that MAC go to the peer node's address.
 * A device's MAC is made from its node's address (VTEP_MAC_PREFIX and the
 * four bytes), so every node knows every peer's without any exchange.
 */

export const VXLAN_VNI = 1
/** Linux's VXLAN port and flannel's; the IANA port 4789 is often taken by other overlays. */
export const VXLAN_PORT = 8472
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50
/** Locally administered, unicast. */
const VTEP_MAC_PREFIX = '0e:5e'

export interface Peer {
  readonly node: string
  /** The node's address: its tunnel endpoint. */
  readonly address: string
  readonly range: Cidr
}

export function vtepMac (address: string): string {
  const n = parseIPv4(address) ?? 0
  return [VTEP_MAC_PREFIX, ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map(b => b.toString(16).padStart(2, '0'))].join(':')
}

/** The address a range's node gives its VXLAN device: the range's network address. */
export function overlayAddress (range: Cidr): string {
  return formatIPv4(firstOf(range))
}

export interface OverlayInit {
  readonly run: CommandRunner
  readonly device: string
  readonly selfAddress: string
  readonly range: Cidr
  readonly peers: readonly Peer[]
  readonly interfaces: () => ReturnType<typeof networkInterfaces>
}

/** The MTU of the interface holding `address`, less the overlay's headers. */
async function overlayMtu (run: CommandRunner, address: string): Promise<number> {
  const links = JSON.parse(await run('ip', ['-j', 'addr', 'show'])) as Array<{ mtu?: number, addr_info?: Array<{ local?: string }> }>
  const link = links.find(l => (l.addr_info ?? []).some(a => a.local === address))
  return (link?.mtu ?? 1500) - VXLAN_OVERHEAD
}

/** Make the device if needed, then make its neighbour and forwarding entries exactly the peers'. */
export async function syncOverlay (o: OverlayInit): Promise<void> {
  const { run, device } = o
  const own = `${overlayAddress(o.range)}/32`
  let exists = true
  let addrs: string[] = []
  try {
    const [link] = JSON.parse(await run('ip', ['-j', 'addr', 'show', 'dev', device])) as Array<{ address?: string, addr_info?: Array<{ family: string, local: string, prefixlen: number }> }>
    addrs = (link?.addr_info ?? []).filter(a => a.family === 'inet').map(a => `${a.local}/${a.prefixlen}`)
    if (link?.address !== vtepMac(o.selfAddress)) {
      // The node's address changed: the device's endpoint and MAC with it.
      await run('ip', ['link', 'del', device])
      exists = false
    }
  } catch {
    exists = false
  }
  if (!exists) {
    await run('ip', ['link', 'add', device, 'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', o.selfAddress, 'dstport', String(VXLAN_PORT), 'nolearning'])
    addrs = []
  }
  const mtu = await overlayMtu(run, o.selfAddress)
  await run('ip', ['-batch', '-'], [
    `link set ${device} address ${vtepMac(o.selfAddress)} mtu ${mtu}`,
    ...addrs.filter(a => a !== own).map(a => `addr del ${a} dev ${device}`),
    ...(addrs.includes(own) ? [] : [`addr add ${own} dev ${device}`]),
    `link set ${device} up`,
    ...o.peers.map(p => `neigh replace ${overlayAddress(p.range)} lladdr ${vtepMac(p.address)} dev ${device} nud permanent`)
  ].join('\n') + '\n')
  const neighbours = JSON.parse(await run('ip', ['-j', 'neigh', 'show', 'dev', device])) as Array<{ dst: string }>
  const wantedNeigh = new Set(o.peers.map(p => overlayAddress(p.range)))
  const staleNeigh = neighbours.filter(n => !wantedNeigh.has(n.dst)).map(n => `neigh del ${n.dst} dev ${device}`)
  if (staleNeigh.length > 0) await run('ip', ['-batch', '-'], staleNeigh.join('\n') + '\n')
  const fdb = JSON.parse(await run('bridge', ['-j', 'fdb', 'show', 'dev', device])) as Array<{ mac: string, dst?: string }>
  const wantedFdb = new Map(o.peers.map(p => [vtepMac(p.address), p.address]))
  const lines = [
    ...[...wantedFdb].filter(([mac, dst]) => !fdb.some(f => f.mac === mac && f.dst === dst)).map(([mac, dst]) => `fdb replace ${mac} dev ${device} dst ${dst} self permanent`),
    ...fdb.filter(f => f.dst !== undefined && wantedFdb.get(f.mac) !== f.dst).map(f => `fdb del ${f.mac} dev ${device} dst ${f.dst!} self`)
  ]
  if (lines.length > 0) await run('bridge', ['-batch', '-'], lines.join('\n') + '\n')
}

/** Remove the device (with it go its neighbour and forwarding entries, and the routes through it); none is fine. */
export async function removeOverlay (device: string, run: CommandRunner): Promise<void> {
  await run('ip', ['link', 'del', device]).catch(() => {})
}
