/**
 * Service traffic forwarded by the kernel, as kube-proxy's iptables mode
 * does it: a connection to a Service address (a node port, a load balancer
 * port, a cluster IP) is DNATed to one of its ready backends, picked evenly
 * at random, and marked, so that it leaves the node masqueraded and the
 * backend's replies come back through this node. Pure: the agent's proxy
 * writes these rules with iptables-restore.
 */

export interface KernelService {
  /** The address and port the Service answers on, on this node. */
  readonly ip: string
  readonly port: number
  readonly backends: ReadonlyArray<{ readonly ip: string, readonly port: number }>
}

/** The connection mark of Service traffic (one bit: 0x800000), masqueraded on the way out. */
export const SERVICE_MARK = '0x800000'

/**
 * What `iptables -S` prints for `--probability p`: the kernel keeps p as a
 * fraction of 2^31 (libxt_statistic rounds), printed with 11 decimals. The
 * rules are written that way so they compare equal to the listing.
 */
export function statisticProbability (p: number): string {
  return (Math.round(p * 0x80000000) / 0x80000000).toFixed(11)
}

/**
 * The rules of the nat chain (without `-A CHAIN`) for `services`, in a
 * stable order: for each, the mark, then one DNAT per backend, the i-th of
 * n taken with probability 1/(n−i) so that each gets 1/n. A Service without
 * backends gets no rule (the agent's userland listener answers it).
 */
export function serviceDnatRules (services: readonly KernelService[]): string[] {
  const out: string[] = []
  const sorted = [...services].sort((a, b) => a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port)
  for (const s of sorted) {
    if (s.backends.length === 0) continue
    const match = `-d ${s.ip}/32 -p tcp -m tcp --dport ${s.port}`
    out.push(`${match} -j MARK --set-xmark ${SERVICE_MARK}/${SERVICE_MARK}`)
    const n = s.backends.length
    s.backends.forEach((b, i) => {
      const left = n - i
      const pick = left > 1 ? ` -m statistic --mode random --probability ${statisticProbability(1 / left)}` : ''
      out.push(`${match}${pick} -j DNAT --to-destination ${b.ip}:${b.port}`)
    })
  }
  return out
}
