import { existsSync } from 'node:fs'
import { exec, must } from './exec.ts'
import { BRIDGE, GATEWAY, LAB_PREFIX, PREFIX_LEN, SPLIT_BRIDGE, type HostLayout } from './layout.ts'

/**
 * The lab's network, as seen from the root namespace: two bridges, one veth
 * per host (root side named like the host's namespace, `eth0` inside), and a
 * FORWARD rule per bridge. br_netfilter passes bridged frames through
 * iptables, and the main Docker engine set FORWARD's policy to DROP, so
 * without the rule hosts could not reach each other (the root namespace
 * itself, on the bridge as GATEWAY, could).
 */
const forwardRule = (bridge: string): string[] => ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']

export async function createBridges (): Promise<void> {
  await must('ip', ['-batch', '-'], {
    input: [
      `link add ${BRIDGE} type bridge`,
      `addr add ${GATEWAY}/${PREFIX_LEN} dev ${BRIDGE}`,
      `link set ${BRIDGE} up`,
      // No address on this one: hosts moved onto it reach each other but not the root namespace or the others.
      `link add ${SPLIT_BRIDGE} type bridge`,
      `link set ${SPLIT_BRIDGE} up`
    ].join('\n') + '\n'
  })
  for (const bridge of [BRIDGE, SPLIT_BRIDGE]) await must('iptables', ['-w', '-I', ...forwardRule(bridge)])
}

/** A new, empty network namespace for the host, as after a boot (only `lo`, down). */
export async function createNetns (h: HostLayout): Promise<void> {
  if (!existsSync(h.netnsPath)) await must('ip', ['netns', 'add', h.netns])
}

/** Give the host its link on `bridge`, its address, `lo`, a default route via the root namespace and forwarding. */
export async function wireHost (h: HostLayout, bridge: string): Promise<void> {
  await must('ip', ['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns])
  await must('ip', ['link', 'set', h.veth, 'master', bridge, 'up'])
  await must('ip', ['-n', h.netns, '-batch', '-'], {
    input: [
      'link set lo up',
      `addr add ${h.ip}/${PREFIX_LEN} dev eth0`,
      'link set eth0 up',
      `route add default via ${GATEWAY}`
    ].join('\n') + '\n'
  })
  // /proc/sys/net is the writer's namespace's: nsenter, never `ip netns exec` (see README).
  await must('nsenter', [`--net=${h.netnsPath}`, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'])
}

/** Tear the host's namespace down with its links, routes and iptables rules, and make it anew, empty: a reboot. */
export async function resetNetns (h: HostLayout): Promise<void> {
  // Delete the root side first: the namespace itself goes only when its last process has, asynchronously.
  await exec('ip', ['link', 'del', h.veth])
  if (existsSync(h.netnsPath)) await must('ip', ['netns', 'del', h.netns])
  await createNetns(h)
}

/** Move the host's link onto another bridge: an L2 split (or its end). */
export async function attachTo (h: HostLayout, bridge: string): Promise<void> {
  await must('ip', ['link', 'set', h.veth, 'master', bridge])
}

/** Remove every namespace, link and FORWARD rule of a lab, whoever made them; returns what it removed. */
export async function removeLabNetwork (): Promise<string[]> {
  const removed: string[] = []
  const namespaces = (await must('ip', ['netns', 'list'])).split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(`${LAB_PREFIX}-`))
  for (const ns of namespaces) {
    await must('ip', ['netns', 'del', ns])
    removed.push(`netns ${ns}`)
  }
  // `ip -o link` lines: "7: shoal-lab-h1@if2: <...". Deleting one end of a veth deletes both.
  const links = (await must('ip', ['-o', 'link', 'show'])).split('\n').map(l => l.split(': ')[1]?.split('@')[0] ?? '').filter(n => n.startsWith(LAB_PREFIX))
  for (const link of links) {
    const res = await exec('ip', ['link', 'del', link])
    if (res.code === 0) removed.push(`link ${link}`)
  }
  for (const bridge of [BRIDGE, SPLIT_BRIDGE]) {
    while ((await exec('iptables', ['-w', '-D', ...forwardRule(bridge)])).code === 0) removed.push(`iptables rule FORWARD -i ${bridge} -o ${bridge} -j ACCEPT`)
  }
  return removed
}

/** `tc netem` is a kernel module (sch_netem); some kernels are built without it. */
export class NetemUnsupportedError extends Error {
  constructor (tcSays: string) {
    super(`tc netem is not available: the kernel lacks sch_netem (the netem queueing discipline; tc says "${tcSays}"). Use a kernel built with CONFIG_NET_SCH_NETEM, or load it with \`modprobe sch_netem\`.`)
    this.name = 'NetemUnsupportedError'
  }
}

const NETEM_KEYS = ['delay', 'jitter', 'loss', 'rate'] as const

/** `delay=100ms jitter=10ms loss=5% rate=1mbit` (spaces or commas between) → tc netem's arguments. */
export function netemArgs (spec: readonly string[]): string[] {
  const given = new Map<string, string>()
  for (const item of spec.flatMap(s => s.split(/[,\s]+/)).filter(s => s !== '')) {
    const [key, value] = item.split('=', 2)
    if (!(NETEM_KEYS as readonly string[]).includes(key ?? '') || value === undefined || value === '') throw new Error(`netem: "${item}" is not one of ${NETEM_KEYS.map(k => `${k}=VALUE`).join(', ')}`)
    given.set(key!, value)
  }
  if (given.size === 0) throw new Error('netem: say what to do, e.g. delay=100ms loss=5%, or off')
  if (given.has('jitter') && !given.has('delay')) throw new Error('netem: jitter needs a delay')
  const args: string[] = []
  if (given.has('delay')) args.push('delay', given.get('delay')!, ...(given.has('jitter') ? [given.get('jitter')!] : []))
  if (given.has('loss')) args.push('loss', given.get('loss')!)
  if (given.has('rate')) args.push('rate', given.get('rate')!)
  return args
}

/** Impair what the host sends on eth0 (`off` removes it); NetemUnsupportedError when the kernel has no netem (a rate alone needs only sch_tbf). */
export async function setNetem (h: HostLayout, spec: readonly string[]): Promise<void> {
  if (spec.length === 1 && spec[0] === 'off') {
    const res = await exec('tc', ['-n', h.netns, 'qdisc', 'del', 'dev', 'eth0', 'root'])
    // Nothing to remove is fine: the default qdisc answers "No such file or directory" or "handle of zero".
    if (res.code !== 0 && !/No such file|handle of zero/i.test(res.stderr)) throw new Error(`host ${h.k}: tc qdisc del failed: ${res.stderr.trim()}`)
    return
  }
  const args = netemArgs(spec)
  // A rate alone is a token bucket (sch_tbf), which kernels without netem have too.
  const qdisc = args.length === 2 && args[0] === 'rate' ? ['tbf', 'rate', args[1]!, 'burst', '64kb', 'latency', '200ms'] : ['netem', ...args]
  const res = await exec('tc', ['-n', h.netns, 'qdisc', 'replace', 'dev', 'eth0', 'root', ...qdisc])
  if (res.code === 0) return
  const said = res.stderr.trim()
  if (/qdisc kind is unknown/i.test(said)) throw new NetemUnsupportedError(said)
  throw new Error(`host ${h.k}: tc netem failed: ${said}`)
}
