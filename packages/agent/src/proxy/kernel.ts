import { SERVICE_MARK, serviceDnatRules, type KernelService } from '@shoal/core/proxy/kernel-rules.ts'
import { runCommand, type CommandRunner } from '../network/command.ts'
import { ensureChain } from '../network/iptables.ts'
import { networkNames, removeServiceChains } from '../network/node-network.ts'

/**
 * The kernel path of the service proxy (core proxy/kernel-rules.ts): on a
 * node on the pod network, connections to a Service whose backends all have
 * pod IPs are DNATed by iptables instead of relayed by the agent, as
 * kube-proxy's iptables mode does. Three chains of the node's own, each
 * jumped to from the head of its parent:
 *
 * - nat `SHOAL-SVC-<tag>` (PREROUTING, OUTPUT): mark, then DNAT to a backend;
 * - nat `SHOAL-SVCM-<tag>` (POSTROUTING): marked connections are masqueraded,
 *   so the backend, on any node, answers through this one;
 * - filter `SHOAL-SVCF-<tag>` (FORWARD): DNATed connections to and from the
 *   cluster CIDR are forwarded (Docker's FORWARD policy is DROP).
 *
 * The agent's listeners stay open beneath: they hold the ports (a port
 * another program holds is reported as before, and gets no rule) and serve
 * what the kernel does not take.
 */

export interface KernelForwarding {
  /** Make the chains hold exactly the rules for `services`; unchanged rules cost no iptables call, except a check every CHECK_MS. */
  sync: (services: readonly KernelService[], clusterCIDR: string) => Promise<void>
  /** Remove the chains (the proxy stops). */
  remove: () => Promise<void>
}

/** How often unchanged rules are checked against the kernel anyway (someone may have flushed them), ms. */
const CHECK_MS = 30_000

export function createKernelForwarding (c: { node: string, run?: CommandRunner, now?: () => number }): KernelForwarding {
  const run = c.run ?? runCommand
  const now = c.now ?? Date.now
  const names = networkNames(c.node)
  let applied: string | undefined
  let checkedAt = 0
  return {
    async sync (services, clusterCIDR) {
      const rules = serviceDnatRules(services)
      const key = JSON.stringify([rules, clusterCIDR])
      if (key === applied && now() - checkedAt < CHECK_MS) return
      applied = undefined
      await ensureChain(run, 'filter', 'FORWARD', names.serviceForwardChain, [
        `-d ${clusterCIDR} -m conntrack --ctstate DNAT -j ACCEPT`,
        `-s ${clusterCIDR} -m conntrack --ctstate DNAT -j ACCEPT`
      ])
      await ensureChain(run, 'nat', 'POSTROUTING', names.serviceMasqChain, [`-m mark --mark ${SERVICE_MARK}/${SERVICE_MARK} -j MASQUERADE`])
      await ensureChain(run, 'nat', ['PREROUTING', 'OUTPUT'], names.serviceChain, rules)
      applied = key
      checkedAt = now()
    },
    async remove () {
      applied = undefined
      await removeServiceChains(c.node, run)
    }
  }
}
