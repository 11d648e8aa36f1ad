import { formatTime, type DescribeWriter } from './describe-writer.ts'
import { meta, nameOf, namespaceOf, rec, recs, str, strs, type Obj } from './obj.ts'

/**
 * `describe node`, as kubectl's describeNode: conditions, addresses,
 * capacity, system info, then the pods bound to it with their requests and
 * limits as a share of what the node can allocate.
 */

const BINARY: ReadonlyArray<[string, number]> = [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]]
const DECIMAL: ReadonlyArray<[string, number]> = [['E', 1e18], ['P', 1e15], ['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3], ['', 1], ['m', 1e-3], ['u', 1e-6], ['n', 1e-9]]

/** A Kubernetes quantity (`250m`, `128Mi`, `1.5`, `1e3`) in base units, and whether it was written in binary units. */
export function parseQuantity (v: unknown): { value: number, binary: boolean } {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : ''
  const m = /^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[A-Za-z]*)$/.exec(s)
  if (m === null) return { value: 0, binary: false }
  const n = Number(m[1])
  const suffix = m[2] ?? ''
  if (/^[eE]/.test(suffix)) return { value: n * 10 ** Number(suffix.slice(1)), binary: false }
  const bin = BINARY.find(([u]) => u === suffix)
  if (bin !== undefined) return { value: n * bin[1], binary: true }
  const dec = DECIMAL.find(([u]) => u === suffix)
  return { value: dec !== undefined ? n * dec[1] : 0, binary: false }
}

/** A quantity the way Kubernetes prints it: the largest unit that divides it exactly (`500m`, `2`, `256Mi`). */
export function formatQuantity (value: number, binary: boolean): string {
  if (value === 0) return '0'
  if (binary && Number.isInteger(value)) {
    for (const [unit, size] of BINARY) if (value % size === 0) return `${value / size}${unit}`
    return String(value)
  }
  const milli = Math.round(value * 1000)
  for (const [unit, size] of DECIMAL) {
    if (size < 1e-3) break
    const per = Math.round(size * 1000)
    if (milli % per === 0) return `${milli / per}${unit}`
  }
  return String(value)
}

/** An amount of one resource, and whether any part of it was written in binary units (so it prints as `Mi`). */
interface Amount { value: number, binary: boolean }

/** `resourcehelper.PodRequestsAndLimits` for one resource: the containers' sum, or the largest init container if that is more. */
function podAmount (pod: Obj, which: 'requests' | 'limits', resource: string): Amount {
  const of = (c: Obj): Amount => parseQuantity(rec(rec(c['resources'])[which])[resource])
  const spec = rec(pod['spec'])
  const total: Amount = { value: 0, binary: false }
  for (const c of recs(spec['containers']).map(of)) {
    total.value += c.value
    total.binary ||= c.binary
  }
  for (const c of recs(spec['initContainers']).map(of)) {
    total.value = Math.max(total.value, c.value)
    total.binary ||= c.binary
  }
  return total
}

function percent (part: number, whole: number): number {
  return whole > 0 ? Math.trunc(part / whole * 100) : 0
}

export function describeNode (w: DescribeWriter, node: Obj, pods: readonly Obj[], events: readonly Obj[] | undefined): void {
  const m = meta(node)
  const spec = rec(node['spec'])
  const status = rec(node['status'])
  w.field(0, 'Name', nameOf(node))
  const roles = Object.keys(rec(m['labels'])).filter(k => k.startsWith('node-role.kubernetes.io/')).map(k => k.slice('node-role.kubernetes.io/'.length)).filter(r => r !== '')
  const legacyRole = str(rec(m['labels'])['kubernetes.io/role'])
  if (legacyRole !== '') roles.push(legacyRole)
  w.field(0, 'Roles', roles.length > 0 ? [...new Set(roles)].sort().join(',') : '<none>')
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.field(0, 'CreationTimestamp', formatTime(m['creationTimestamp']))
  const taints = recs(spec['taints'])
  if (taints.length === 0) w.write(0, 'Taints:\t<none>\n')
  else taints.forEach((t, i) => w.write(0, `${i === 0 ? 'Taints:' : ''}\t${str(t['key'])}${str(t['value']) !== '' ? `=${str(t['value'])}` : ''}:${str(t['effect'])}\n`))
  w.field(0, 'Unschedulable', spec['unschedulable'] === true)
  const conditions = recs(status['conditions'])
  if (conditions.length > 0) {
    w.write(0, 'Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n')
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n')
    for (const c of conditions) {
      w.write(1, `${str(c['type'])} \t${str(c['status'])} \t${formatTime(c['lastHeartbeatTime'])} \t${formatTime(c['lastTransitionTime'])} \t${str(c['reason'])} \t${str(c['message'])}\n`)
    }
  }
  w.write(0, 'Addresses:\n')
  for (const a of recs(status['addresses'])) w.field(1, str(a['type']), str(a['address']))
  for (const [key, title] of [['capacity', 'Capacity'], ['allocatable', 'Allocatable']] as const) {
    const list = Object.entries(rec(status[key]))
    if (list.length === 0) continue
    w.write(0, `${title}:\n`)
    for (const [name, q] of list.sort(([a], [b]) => a < b ? -1 : 1)) w.write(0, `  ${name}:\t${str(q)}\n`)
  }
  const info = rec(status['nodeInfo'])
  w.write(0, 'System Info:\n')
  for (const [key, title] of [
    ['machineID', 'Machine ID'], ['systemUUID', 'System UUID'], ['bootID', 'Boot ID'], ['kernelVersion', 'Kernel Version'], ['osImage', 'OS Image'],
    ['operatingSystem', 'Operating System'], ['architecture', 'Architecture'], ['containerRuntimeVersion', 'Container Runtime Version'],
    ['kubeletVersion', 'Kubelet Version'], ['kubeProxyVersion', 'Kube-Proxy Version']
  ] as const) w.write(0, `  ${title}:\t${str(info[key])}\n`)
  if (str(spec['podCIDR']) !== '') w.field(0, 'PodCIDR', str(spec['podCIDR']))
  if (strs(spec['podCIDRs']).length > 0) w.field(0, 'PodCIDRs', strs(spec['podCIDRs']).join(','))
  if (str(spec['providerID']) !== '') w.field(0, 'ProviderID', str(spec['providerID']))
  describeNodeResources(w, status, pods)
  w.events(events)
}

function describeNodeResources (w: DescribeWriter, status: Obj, pods: readonly Obj[]): void {
  const allocatable = Object.keys(rec(status['allocatable'])).length > 0 ? rec(status['allocatable']) : rec(status['capacity'])
  const share = (a: Amount, resource: string): string => `${formatQuantity(a.value, a.binary)} (${percent(a.value, parseQuantity(allocatable[resource]).value)}%)`
  w.write(0, `Non-terminated Pods:\t(${pods.length} in total)\n`)
  w.write(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n')
  w.write(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n')
  for (const p of pods) {
    const cells = ['cpu', 'memory'].flatMap(r => [share(podAmount(p, 'requests', r), r), share(podAmount(p, 'limits', r), r)])
    w.write(1, `${namespaceOf(p)}\t${nameOf(p)}\t\t${cells[0]!}\t${cells[1]!}\t${cells[2]!}\t${cells[3]!}\t${w.since(meta(p)['creationTimestamp'])}\n`)
  }
  w.write(0, 'Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n')
  w.write(1, 'Resource\tRequests\tLimits\n')
  w.write(1, '--------\t--------\t------\n')
  for (const resource of ['cpu', 'memory', 'ephemeral-storage']) {
    const total = (which: 'requests' | 'limits'): Amount => pods.map(p => podAmount(p, which, resource)).reduce((a, b) => ({ value: a.value + b.value, binary: a.binary || b.binary }), { value: 0, binary: false })
    w.write(1, `${resource}\t${share(total('requests'), resource)}\t${share(total('limits'), resource)}\n`)
  }
}
