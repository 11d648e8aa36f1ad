/**
 * IPv4 addresses and CIDRs as numbers, for the pod network's ranges (the
 * cluster CIDR, each node's range, each pod's address) and the Service
 * range. Pure.
 */

/** An IPv4 CIDR: the address as a 32-bit unsigned number and the prefix length. */
export interface Cidr {
  readonly address: number
  readonly prefix: number
}

/** `10.244.1.7` → its 32-bit unsigned number; undefined when it is not a dotted-quad IPv4 address. */
export function parseIPv4 (text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

export function formatIPv4 (n: number): string {
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.')
}

/** `10.244.0.0/16` → { address, prefix }, host bits as given; undefined when it is not an IPv4 CIDR. */
export function parseCIDR (text: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text)
  if (m === null) return undefined
  const address = parseIPv4(m[1]!)
  const prefix = Number(m[2])
  return address === undefined || prefix > 32 ? undefined : { address, prefix }
}

export function formatCIDR (c: Cidr): string {
  return `${formatIPv4(c.address)}/${c.prefix}`
}

/** Addresses in a range of this prefix length. */
export const sizeOf = (prefix: number): number => 2 ** (32 - prefix)
/** The first and last address of `c`, as numbers. */
export const firstOf = (c: Cidr): number => c.address - c.address % sizeOf(c.prefix)
export const lastOf = (c: Cidr): number => firstOf(c) + sizeOf(c.prefix) - 1

/** The network `c` lies in: its host bits cleared (`10.244.1.7/24` → `10.244.1.0/24`). */
export function networkOf (c: Cidr): Cidr {
  return { address: firstOf(c), prefix: c.prefix }
}

/** Whether `c` is written as its network address, host bits zero. */
export function isNetworkAddress (c: Cidr): boolean {
  return c.address === firstOf(c)
}

/** Whether every address of `inner` lies in `outer`. */
export function containsCIDR (outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && firstOf(inner) >= firstOf(outer) && lastOf(inner) <= lastOf(outer)
}

/** Whether `a` and `b` share an address (for CIDRs: one contains the other). */
export function overlaps (a: Cidr, b: Cidr): boolean {
  return firstOf(a) <= lastOf(b) && firstOf(b) <= lastOf(a)
}

/** How many /maskSize subnets `c` holds (0 when maskSize is shorter than c's prefix). */
export function subnetCount (c: Cidr, maskSize: number): number {
  return maskSize < c.prefix || maskSize > 32 ? 0 : 2 ** (maskSize - c.prefix)
}

/** The k-th (from 0) /maskSize subnet of `c`, or undefined when `c` has no such subnet. */
export function subnetAt (c: Cidr, maskSize: number, k: number): Cidr | undefined {
  if (!Number.isSafeInteger(k) || k < 0 || k >= subnetCount(c, maskSize)) return undefined
  return { address: firstOf(c) + k * sizeOf(maskSize), prefix: maskSize }
}
