import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Logger } from '../log.ts'

const run = promisify(execFile)

/**
 * The cluster IPs on this host's loopback interface, so the node and its
 * pods (through the Docker bridge's gateway) reach a Service's cluster IP
 * as a local address where the proxy listens. kube-proxy's IPVS mode binds
 * them to a dummy interface (kube-ipvs0) the same way; loopback works where
 * the dummy driver is missing. Each address carries the label `lo:shoal`,
 * so Shoal's addresses are told from anyone else's and removed together
 * (`ip addr flush label lo:shoal`). Needs CAP_NET_ADMIN (root), as the
 * Docker engine the agent drives does.
 */
export interface ClusterIPs {
  /** Make sure `ip` is on the interface; rejects with iproute2's message. */
  add: (ip: string) => Promise<void>
  /** Take `ip` off again; an address that is not there is fine. */
  remove: (ip: string) => Promise<void>
}

export const CLUSTER_IP_LABEL = 'lo:shoal'

export function loopbackClusterIPs (log: Logger): ClusterIPs {
  const added = new Set<string>()
  return {
    async add (ip) {
      if (added.has(ip)) return
      try {
        await run('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo', 'label', CLUSTER_IP_LABEL])
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim()
        // Another agent on this host (or an earlier run) put it there already.
        if (!/File exists|already assigned/i.test(stderr)) throw new Error(`cannot add cluster IP ${ip} to lo: ${stderr}`)
      }
      added.add(ip)
      log.debug({ ip }, 'cluster IP added to lo')
    },
    async remove (ip) {
      added.delete(ip)
      await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(() => {})
    }
  }
}
