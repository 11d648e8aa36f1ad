/**
 * Kubernetes' FitError text, which FailedScheduling events and the
 * PodScheduled condition carry: `0/3 nodes are available: ` then `COUNT
 * REASON` per reason, sorted as Go's sort.Strings sorts those strings (so
 * `1 node(s) …` comes before `2 Insufficient memory`), joined by `, `, and a
 * full stop. Kubernetes goes on with ` preemption: …` from its preemption
 * plugin; Shoal does not preempt, so that part is left out.
 */

/** What Kubernetes reports when the cluster has no nodes at all (ErrNoNodesAvailable). */
export const NO_NODES_MESSAGE = 'no nodes available to schedule pods'

/** Byte-wise string order, as Go's sort.Strings. */
function byBytes (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function fitErrorMessage (nodeCount: number, reasons: Readonly<Record<string, number>>): string {
  if (nodeCount === 0) return NO_NODES_MESSAGE
  const parts = Object.entries(reasons).map(([reason, count]) => `${count} ${reason}`).sort(byBytes)
  return `0/${nodeCount} nodes are available${parts.length > 0 ? `: ${parts.join(', ')}.` : ':'}`
}
