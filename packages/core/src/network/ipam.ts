import { firstOf, formatIPv4, parseIPv4, sizeOf, type Cidr } from './cidr.ts'

/**
 * Pod addresses from a node's range, as CNI's host-local IPAM hands them
 * out: the range's first address is the node bridge's (the pods' gateway),
 * the network and broadcast addresses are never used, and the next address
 * goes round the range from the last one given, so an address a pod just
 * released is not handed to the next pod at once (a Service endpoint or a
 * client still holding it would reach the wrong pod).
 *
 * Pure: the agent says which addresses are in use (its sandboxes' labels)
 * and remembers the last one it gave.
 */

/** Whether `ip` lies inside `range`. */
export function rangeContains (range: Cidr, ip: string): boolean {
  const n = parseIPv4(ip)
  return n !== undefined && n >= firstOf(range) && n < firstOf(range) + sizeOf(range.prefix)
}

/** The node bridge's address: the range's first host address. */
export function gatewayOf (range: Cidr): string {
  return formatIPv4(firstOf(range) + 1)
}

/** How many pod addresses the range holds: all but network, gateway and broadcast. */
export function podCapacity (range: Cidr): number {
  return Math.max(0, sizeOf(range.prefix) - 3)
}

/**
 * The next free pod address after `last` (from the start when undefined or
 * outside the range), wrapping round; undefined when every one is used.
 */
export function nextPodIP (range: Cidr, used: ReadonlySet<string>, last?: string): string | undefined {
  const first = firstOf(range) + 2
  const end = firstOf(range) + sizeOf(range.prefix) - 1 // the broadcast address, never handed out
  const count = end - first
  if (count <= 0) return undefined
  const lastN = last !== undefined && rangeContains(range, last) ? parseIPv4(last)! : first - 1
  for (let i = 1; i <= count; i++) {
    const ip = formatIPv4(first + ((lastN - first + i) % count + count) % count)
    if (!used.has(ip)) return ip
  }
  return undefined
}
