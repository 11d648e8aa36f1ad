import { nextPodIP } from '@shoal/core/network/ipam.ts'
import { formatCIDR, parseIPv4 } from '@shoal/core/network/cidr.ts'
import { NetworkCommandError, runCommand, type CommandRunner } from './command.ts'
import { createHostPorts, type HostPorts } from './host-ports.ts'
import { POD_RANGE_GRACE_MS, type NodeNetwork } from './node-network.ts'
import type { Logger } from '../log.ts'

/**
 * A pod's place on the pod network, CNI-style: the container runtime starts
 * the sandbox with no network of its own (Docker's `none`), then asks here
 * for an address from the node's range and wires the sandbox in: a veth
 * pair, one end as the sandbox's `eth0` with the address and a default
 * route through the node bridge's gateway, the other end on the bridge.
 * The plumbing happens here, in parallel for any number of pods, not in
 * the engine's serialised network setup.
 *
 * The addresses in use are not stored anywhere but in the sandboxes' own
 * labels (docker-spec.ts): after a restart the runtime lists them and
 * `adopt`s them, so an address is never handed out twice while its sandbox
 * exists, and one whose sandbox is gone is free again. When a sandbox is
 * removed its network namespace goes, and the kernel removes the veth pair
 * with it.
 */

export interface PodNetwork {
  /** Resolves once the node network is set up, or at once when it is not merely starting (a new node waiting for its range). */
  settled: () => Promise<void>
  /** An address for a new pod; throws PodNetworkError when the node network is not ready or its range is used up. */
  allocate: () => string
  /** The pod at `ip` is gone: free the address and close its host ports. */
  release: (ip: string) => void
  /** The addresses of every sandbox that exists now: any other (not being handed out) is freed. */
  adopt: (ips: Iterable<string>) => void
  /** Wire the sandbox whose process is `pid` into the node bridge at `ip`. */
  attach: (pid: number, ip: string) => Promise<void>
  readonly hostPorts: HostPorts
}

/** The pod cannot get onto the network now: the reason goes into the pod's events. */
export class PodNetworkError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PodNetworkError'
  }
}

export interface PodNetworkComponents {
  readonly node: NodeNetwork
  readonly log: Logger
  readonly run?: CommandRunner
}

/** The host end of a pod's veth pair: `sv` and the address in hex, unique on the host and at most 15 characters. */
export function hostVethName (ip: string): string {
  return `sv${(parseIPv4(ip) ?? 0).toString(16).padStart(8, '0')}`
}

export function createPodNetwork (c: PodNetworkComponents): PodNetwork {
  const run = c.run ?? runCommand
  /** Addresses of sandboxes that exist, and of ones being made. */
  const used = new Set<string>()
  const pending = new Set<string>()
  let last: string | undefined
  const hostPorts = createHostPorts(c.log)

  return {
    async settled () {
      const deadline = Date.now() + POD_RANGE_GRACE_MS
      while (c.node.state() === undefined && c.node.health().starting === true && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    },
    allocate () {
      const st = c.node.state()
      if (st === undefined) throw new PodNetworkError(`the pod network is not ready: ${c.node.health().message ?? 'not set up yet'}`)
      const ip = nextPodIP(st.range, new Set([...used, ...pending]), last)
      if (ip === undefined) throw new PodNetworkError(`no address left in this node's pod range ${formatCIDR(st.range)}: every one of its addresses is held by a pod`)
      last = ip
      pending.add(ip)
      used.add(ip)
      return ip
    },
    release (ip) {
      used.delete(ip)
      pending.delete(ip)
      hostPorts.close(ip)
    },
    adopt (ips) {
      const live = new Set(ips)
      for (const ip of [...used]) {
        if (!live.has(ip) && !pending.has(ip)) {
          used.delete(ip)
          hostPorts.close(ip)
        }
      }
      for (const ip of live) used.add(ip)
      if (last === undefined) last = [...live].sort((a, b) => (parseIPv4(a) ?? 0) - (parseIPv4(b) ?? 0)).at(-1)
    },
    async attach (pid, ip) {
      const st = c.node.state()
      if (st === undefined) throw new PodNetworkError(`the pod network is not ready: ${c.node.health().message ?? 'not set up yet'}`)
      const host = hostVethName(ip)
      // Hairpin: a pod's connection to a Service that lands on the pod itself goes back out of the port it came in by.
      const outside = `link add ${host} type veth peer name eth0 netns ${pid}\nlink set ${host} master ${st.bridge} up\nlink set dev ${host} type bridge_slave hairpin on\n`
      try {
        try {
          await run('ip', ['-batch', '-'], outside)
        } catch (err) {
          // A veth of an earlier sandbox with this address whose namespace is not gone yet: replace it.
          if (!(err instanceof NetworkCommandError) || !/exists/i.test(err.stderr)) throw err
          await run('ip', ['link', 'del', host]).catch(() => {})
          await run('ip', ['-batch', '-'], outside)
        }
        await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-batch', '-'],
          `addr add ${ip}/${st.range.prefix} dev eth0\nlink set lo up\nlink set eth0 up\nroute add default via ${st.gateway}\n`)
      } catch (err) {
        throw new PodNetworkError(`cannot wire the pod into the node bridge ${st.bridge}: ${(err as Error).message}`, { cause: err })
      } finally {
        pending.delete(ip)
      }
    },
    hostPorts
  }
}
