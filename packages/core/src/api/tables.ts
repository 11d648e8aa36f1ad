import type { KubeObject } from '../store/types.ts'

/**
 * Server-side printing: the `meta.k8s.io/v1` Table that kubectl asks for on
 * every `get` (Accept `as=Table`). kubectl prints the cells verbatim and never
 * recomputes them, so each cell here follows the upstream printer
 * (`pkg/printers/internalversion/printers.go`) closely enough that
 * `kubectl get` against Shoal reads like it does against a real cluster.
 * Like the apiserver, every row carries the `-o wide` cells too; kubectl hides
 * the `priority: 1` columns unless asked for them.
 */

export type TableCell = string | number

export interface TableColumnDefinition {
  readonly name: string
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  readonly format: string
  readonly description: string
  readonly priority: number
}

export interface PartialObjectMetadata {
  readonly kind: 'PartialObjectMetadata'
  readonly apiVersion: 'meta.k8s.io/v1'
  readonly metadata: Readonly<Record<string, unknown>>
}

export interface TableRow {
  readonly cells: readonly TableCell[]
  /** Absent for includeObject=None. */
  readonly object?: PartialObjectMetadata | KubeObject
}

export interface Table {
  readonly kind: 'Table'
  readonly apiVersion: 'meta.k8s.io/v1'
  readonly metadata: { readonly resourceVersion: string }
  readonly columnDefinitions: readonly TableColumnDefinition[]
  readonly rows: readonly TableRow[]
}

export interface TableOptions {
  /** Milliseconds since the epoch; AGE and LAST SEEN are relative to it. */
  readonly now: number
  readonly resourceVersion: string
  /** What `rows[].object` holds (`?includeObject=`); Metadata by default, as in Kubernetes. */
  readonly includeObject?: 'Object' | 'Metadata' | 'None'
}

/**
 * kubectl's `duration.HumanDuration`: two or three significant figures.
 * Up to a second of future is "0s" so that skewed clocks do not print
 * `<invalid>` for something just created.
 */
export function formatAge (ms: number): string {
  const seconds = Math.trunc(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 60 * 2) return `${seconds}s`
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 60 * 3) return `${minutes}m`
  const hours = Math.floor(ms / 3_600_000)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  const days = Math.floor(hours / 24)
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${days}d` : `${days}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${days}d`
  const years = Math.floor(days / 365)
  if (hours < 24 * 365 * 8) {
    const d = days % 365
    return d === 0 ? `${years}y` : `${years}y${d}d`
  }
  return `${years}y`
}

type Rec = Readonly<Record<string, unknown>>

/** The record at `v`, or undefined: Go's nil pointer (`state.terminated`, `series`). */
function maybe (v: unknown): Rec | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Rec : undefined
}

function rec (v: unknown): Rec {
  return maybe(v) ?? {}
}

function recs (v: unknown): Rec[] {
  return Array.isArray(v) ? v.map(rec) : []
}

function str (v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function int (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** `translateTimestampSince`: a missing or unparseable timestamp is `<unknown>`, as Go's zero time is. */
function since (timestamp: unknown, now: number): string {
  const t = time(timestamp)
  return Number.isNaN(t) ? '<unknown>' : formatAge(now - t)
}

/** Milliseconds since the epoch, NaN for a missing or unparseable timestamp. */
function time (timestamp: unknown): number {
  return typeof timestamp === 'string' ? Date.parse(timestamp) : NaN
}

/** `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty. */
function formatLabels (labels: unknown): string {
  const pairs = Object.entries(rec(labels)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return pairs.length === 0 ? '<none>' : pairs.map(([k, v]) => `${k}=${str(v)}`).join(',')
}

/**
 * `LabelSelectorAsSelector(...).String()`: requirements sorted by key, set
 * values sorted. A missing or empty selector prints as '' (Nothing/Everything).
 */
function formatSelector (selector: unknown): string {
  const s = rec(selector)
  const parts: Array<[string, string]> = Object.entries(rec(s['matchLabels'])).map(([k, v]) => [k, `${k}=${str(v)}`])
  for (const e of recs(s['matchExpressions'])) {
    const key = str(e['key'])
    const values = (Array.isArray(e['values']) ? e['values'].map(str) : []).sort().join(',')
    const op = e['operator']
    if (op === 'In') parts.push([key, `${key} in (${values})`])
    else if (op === 'NotIn') parts.push([key, `${key} notin (${values})`])
    else if (op === 'Exists') parts.push([key, key])
    else if (op === 'DoesNotExist') parts.push([key, `!${key}`])
    else return '<invalid>'
  }
  return parts.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, p]) => p).join(',')
}

/** `layoutContainerCells`: comma-joined container names and images of a pod template. */
function containerCells (template: unknown): [string, string] {
  const containers = recs(rec(rec(template)['spec'])['containers'])
  return [containers.map(c => str(c['name'])).join(','), containers.map(c => str(c['image'])).join(',')]
}

function col (name: string, description: string, priority = 0, type: TableColumnDefinition['type'] = 'string'): TableColumnDefinition {
  return { name, type, format: name === 'Name' ? 'name' : '', description, priority }
}

const NAME = col('Name', 'Name must be unique within a namespace.')
const AGE = col('Age', 'CreationTimestamp is the time the object was created, shown as its age.')

type Printer = (o: KubeObject, spec: Rec, status: Rec, now: number) => TableCell[]

interface KindPrinter {
  readonly columns: readonly TableColumnDefinition[]
  readonly row: Printer
}

function isRestartableInit (c: Rec | undefined): boolean {
  return c?.['restartPolicy'] === 'Always'
}

function conditionTrue (status: Rec, type: string): boolean {
  return recs(status['conditions']).some(c => c['type'] === type && c['status'] === 'True')
}

/** The latest `lastState.terminated.finishedAt` seen, in ms (NaN when none). */
function laterFinish (current: number, cs: Rec): number {
  const t = time(rec(rec(cs['lastState'])['terminated'])['finishedAt'])
  return Number.isNaN(t) || (!Number.isNaN(current) && current >= t) ? current : t
}

/** `printPod`: READY counts sidecars, STATUS prefers the most telling container reason over the phase. */
const printPod: Printer = (o, spec, status, now) => {
  const inits = new Map(recs(spec['initContainers']).map(c => [str(c['name']), c]))
  let total = recs(spec['containers']).length
  for (const c of inits.values()) if (isRestartableInit(c)) total++
  let ready = 0
  let restarts = 0
  let sidecarRestarts = 0
  let lastRestart = NaN
  let lastSidecarRestart = NaN
  let reason = str(status['reason']) || str(status['phase'])
  if (recs(status['conditions']).some(c => c['type'] === 'PodScheduled' && c['reason'] === 'SchedulingGated')) reason = 'SchedulingGated'

  let initializing = false
  const initStatuses = recs(status['initContainerStatuses'])
  for (const [i, cs] of initStatuses.entries()) {
    restarts += int(cs['restartCount'])
    lastRestart = laterFinish(lastRestart, cs)
    const sidecar = isRestartableInit(inits.get(str(cs['name'])))
    if (sidecar) {
      sidecarRestarts += int(cs['restartCount'])
      lastSidecarRestart = laterFinish(lastSidecarRestart, cs)
    }
    const state = rec(cs['state'])
    const terminated = maybe(state['terminated'])
    const waiting = rec(state['waiting'])
    if (terminated !== undefined && int(terminated['exitCode']) === 0) continue
    if (sidecar && cs['started'] === true) {
      if (cs['ready'] === true) ready++
      continue
    }
    if (terminated !== undefined) {
      const r = str(terminated['reason'])
      const signal = int(terminated['signal'])
      reason = r !== '' ? `Init:${r}` : signal !== 0 ? `Init:Signal:${signal}` : `Init:ExitCode:${int(terminated['exitCode'])}`
    } else if (str(waiting['reason']) !== '' && waiting['reason'] !== 'PodInitializing') {
      reason = `Init:${str(waiting['reason'])}`
    } else {
      reason = `Init:${i}/${inits.size}`
    }
    initializing = true
    break
  }

  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = sidecarRestarts
    lastRestart = lastSidecarRestart
    let hasRunning = false
    const statuses = recs(status['containerStatuses'])
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] ?? {}
      restarts += int(cs['restartCount'])
      lastRestart = laterFinish(lastRestart, cs)
      const state = rec(cs['state'])
      const waiting = rec(state['waiting'])
      const terminated = maybe(state['terminated'])
      if (str(waiting['reason']) !== '') reason = str(waiting['reason'])
      else if (terminated !== undefined) {
        const signal = int(terminated['signal'])
        reason = str(terminated['reason']) || (signal !== 0 ? `Signal:${signal}` : `ExitCode:${int(terminated['exitCode'])}`)
      } else if (cs['ready'] === true && maybe(state['running']) !== undefined) {
        hasRunning = true
        ready++
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status, 'Ready') ? 'Running' : 'NotReady'
  }

  const phase = status['phase']
  if (o.metadata.deletionTimestamp !== undefined && status['reason'] === 'NodeLost') reason = 'Unknown'
  else if (o.metadata.deletionTimestamp !== undefined && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating'

  const restartsCell = restarts !== 0 && !Number.isNaN(lastRestart) ? `${restarts} (${formatAge(now - lastRestart)} ago)` : String(restarts)
  const gates = recs(spec['readinessGates'])
  const conditions = recs(status['conditions'])
  const gatesTrue = gates.filter(g => conditions.find(c => c['type'] === g['conditionType'])?.['status'] === 'True').length
  return [
    o.metadata.name, `${ready}/${total}`, reason, restartsCell, since(o.metadata.creationTimestamp, now),
    str(recs(status['podIPs'])[0]?.['ip']) || str(status['podIP']) || '<none>',
    str(spec['nodeName']) || '<none>',
    str(status['nominatedNodeName']) || '<none>',
    gates.length === 0 ? '<none>' : `${gatesTrue}/${gates.length}`
  ]
}

/** `loadBalancerStatusStringer` (wide, so never truncated): sorted, de-duplicated IPs or hostnames. */
function loadBalancerIngress (status: Rec): string[] {
  const found = recs(rec(status['loadBalancer'])['ingress']).map(i => str(i['ip']) || str(i['hostname'])).filter(s => s !== '')
  return [...new Set(found)].sort()
}

function serviceExternalIP (spec: Rec, status: Rec): string {
  const external = Array.isArray(spec['externalIPs']) ? spec['externalIPs'].map(str) : []
  switch (spec['type'] ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>'
    case 'LoadBalancer': {
      const all = [...loadBalancerIngress(status), ...external]
      return all.length > 0 ? all.join(',') : '<pending>'
    }
    case 'ExternalName':
      return str(spec['externalName'])
  }
  return '<unknown>'
}

/** `makePortString`: `80/TCP`, or `80:30080/TCP` once a node port is allocated. */
function servicePorts (spec: Rec): string {
  const ports = recs(spec['ports']).map(p => {
    const protocol = str(p['protocol']) || 'TCP'
    return int(p['nodePort']) > 0 ? `${int(p['port'])}:${int(p['nodePort'])}/${protocol}` : `${int(p['port'])}/${protocol}`
  })
  return ports.length > 0 ? ports.join(',') : '<none>'
}

/** `findNodeRoles`: role names from `node-role.kubernetes.io/<role>` keys and the legacy `kubernetes.io/role` value. */
function nodeRoles (labels: unknown): string {
  const roles = new Set<string>()
  for (const [k, v] of Object.entries(rec(labels))) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length))
    else if (k === 'kubernetes.io/role' && str(v) !== '') roles.add(str(v))
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',')
}

function nodeAddress (status: Rec, type: string): string {
  return str(recs(status['addresses']).find(a => a['type'] === type)?.['address']) || '<none>'
}

/** `formatEndpoints`: up to three `ip:port` entries, then `+ N more...`. */
function formatEndpoints (o: KubeObject): string {
  const subsets = recs(o['subsets'])
  if (subsets.length === 0) return '<none>'
  const max = 3
  const list: string[] = []
  let count = 0
  const add = (addresses: Rec[], port?: number): void => {
    count += addresses.length
    for (const a of addresses) {
      if (list.length === max) return
      const ip = str(a['ip'])
      list.push(port === undefined ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)
    }
  }
  for (const ss of subsets) {
    const addresses = recs(ss['addresses'])
    const ports = recs(ss['ports'])
    if (ports.length === 0) add(addresses)
    for (const p of ports) add(addresses, int(p['port']))
  }
  return count > max ? `${list.join(',')} + ${count - max} more...` : list.join(',')
}

/** `printEvent`: the event series and the newer eventTime stand in for missing legacy timestamps. */
const printEvent: Printer = (o, _spec, _status, now) => {
  const first = since(Number.isNaN(time(o['firstTimestamp'])) ? o['eventTime'] : o['firstTimestamp'], now)
  let last = Number.isNaN(time(o['lastTimestamp'])) ? first : since(o['lastTimestamp'], now)
  let count = int(o['count'])
  const series = maybe(o['series'])
  if (series !== undefined) {
    last = since(series['lastObservedTime'], now)
    count = int(series['count'])
  } else if (count === 0) count = 1
  const involved = rec(o['involvedObject'])
  const kind = str(involved['kind']).toLowerCase()
  const target = str(involved['name']) !== '' ? `${kind}/${str(involved['name'])}` : kind
  const source = rec(o['source'])
  const component = str(source['component']) || str(o['reportingController'])
  const host = str(source['host']) || str(o['reportingInstance'])
  return [
    last, str(o['type']), str(o['reason']), target, str(involved['fieldPath']),
    host === '' ? component : `${component}, ${host}`,
    str(o['message']).trim(), first, count, o.metadata.name
  ]
}

/** The template columns Deployments and ReplicaSets share. */
const TEMPLATE = [
  col('Containers', 'Names of each container in the template.', 1), col('Images', 'Images referenced by each container in the template.', 1),
  col('Selector', 'Label selector for pods.', 1)
]

const PRINTERS: Readonly<Record<string, KindPrinter>> = {
  pods: {
    columns: [
      NAME, col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'), col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'How many times the containers in this pod have been restarted, and when last.'), AGE,
      col('IP', 'IP address allocated to the pod.', 1), col('Node', 'The node the pod is bound to.', 1),
      col('Nominated Node', 'The node the scheduler nominated for preemption.', 1), col('Readiness Gates', 'Readiness gates that are true, of all.', 1)
    ],
    row: printPod
  },
  deployments: {
    columns: [
      NAME, col('Ready', 'Number of the pod with ready state'), col('Up-to-date', 'Pods that have the desired template spec.', 0, 'integer'),
      col('Available', 'Pods ready for at least minReadySeconds.', 0, 'integer'), AGE, ...TEMPLATE
    ],
    row: (o, spec, status, now) => [
      o.metadata.name, `${int(status['readyReplicas'])}/${int(spec['replicas'])}`, int(status['updatedReplicas']), int(status['availableReplicas']),
      since(o.metadata.creationTimestamp, now), ...containerCells(spec['template']), formatSelector(spec['selector'])
    ]
  },
  replicasets: {
    columns: [
      NAME, col('Desired', 'Number of desired pods.', 0, 'integer'), col('Current', 'Number of pods currently running.', 0, 'integer'),
      col('Ready', 'Number of ready pods.', 0, 'integer'), AGE, ...TEMPLATE
    ],
    row: (o, spec, status, now) => [
      o.metadata.name, int(spec['replicas']), int(status['replicas']), int(status['readyReplicas']),
      since(o.metadata.creationTimestamp, now), ...containerCells(spec['template']), formatSelector(spec['selector'])
    ]
  },
  services: {
    columns: [
      NAME, col('Type', 'How the service is exposed.'), col('Cluster-IP', 'The IP address of the service inside the cluster.'),
      col('External-IP', 'Addresses the service is reachable on from outside the cluster.'), col('Port(s)', 'The ports the service exposes.'), AGE,
      col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', 1)
    ],
    row: (o, spec, status, now) => [
      o.metadata.name, str(spec['type']) || 'ClusterIP',
      str(Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'][0] : undefined) || str(spec['clusterIP']) || '<none>',
      serviceExternalIP(spec, status), servicePorts(spec), since(o.metadata.creationTimestamp, now), formatLabels(spec['selector'])
    ]
  },
  nodes: {
    columns: [
      NAME, col('Status', 'The status of the node.'), col('Roles', 'The roles of the node.'), AGE, col('Version', 'Kubelet version.'),
      col('Internal-IP', 'The internal IP of the node.', 1), col('External-IP', 'The external IP of the node.', 1), col('OS-Image', 'OS image.', 1),
      col('Kernel-Version', 'Kernel version.', 1), col('Container-Runtime', 'Container runtime version.', 1)
    ],
    row: (o, spec, status, now) => {
      const ready = recs(status['conditions']).find(c => c['type'] === 'Ready')
      const states = [ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : 'NotReady']
      if (spec['unschedulable'] === true) states.push('SchedulingDisabled')
      const info = rec(status['nodeInfo'])
      return [
        o.metadata.name, states.join(','), nodeRoles(o.metadata.labels), since(o.metadata.creationTimestamp, now), str(info['kubeletVersion']),
        nodeAddress(status, 'InternalIP'), nodeAddress(status, 'ExternalIP'), str(info['osImage']) || '<unknown>',
        str(info['kernelVersion']) || '<unknown>', str(info['containerRuntimeVersion']) || '<unknown>'
      ]
    }
  },
  namespaces: {
    columns: [NAME, col('Status', 'The status of the namespace'), AGE],
    row: (o, _spec, status, now) => [o.metadata.name, str(status['phase']), since(o.metadata.creationTimestamp, now)]
  },
  endpoints: {
    columns: [NAME, col('Endpoints', 'The addresses and ports behind the service.'), AGE],
    row: (o, _spec, _status, now) => [o.metadata.name, formatEndpoints(o), since(o.metadata.creationTimestamp, now)]
  },
  events: {
    columns: [
      col('Last Seen', 'When this event last occurred.'), col('Type', 'Normal or Warning.'), col('Reason', 'Why the action was taken.'),
      col('Object', 'The object that this event is about.'), col('Subobject', 'The part of the object this event is about.', 1),
      col('Source', 'The component reporting this event.', 1), col('Message', 'A human-readable description of the event.'),
      col('First Seen', 'When this event first occurred.', 1), col('Count', 'How many times this event has occurred.', 1, 'integer'),
      { ...NAME, priority: 1 }
    ],
    row: printEvent
  },
  configmaps: {
    columns: [NAME, col('Data', 'Number of keys in data and binaryData.', 0, 'integer'), AGE],
    row: (o, _spec, _status, now) => [
      o.metadata.name, Object.keys(rec(o['data'])).length + Object.keys(rec(o['binaryData'])).length, since(o.metadata.creationTimestamp, now)
    ]
  }
}

const DEFAULT_PRINTER: KindPrinter = {
  columns: [NAME, AGE],
  row: (o, _spec, _status, now) => [o.metadata.name, since(o.metadata.creationTimestamp, now)]
}

/**
 * The metadata kubectl reads from a row: namespace for `-A`, labels for
 * `--show-labels`. Absent fields stay absent so the JSON matches Kubernetes'.
 */
function partialMetadata (o: KubeObject): PartialObjectMetadata {
  const m = o.metadata
  const metadata: Record<string, unknown> = {}
  for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'labels', 'annotations']) {
    if (m[key] !== undefined) metadata[key] = m[key]
  }
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata }
}

/** The Table for a list or a single object (`kubectl get pods`, `kubectl get pod x`) of `resource`. */
export function buildTable (resource: string, objects: readonly KubeObject[], opts: TableOptions): Table {
  const printer = PRINTERS[resource] ?? DEFAULT_PRINTER
  const include = opts.includeObject ?? 'Metadata'
  const rows = objects.map((o): TableRow => {
    const cells = printer.row(o, rec(o.spec), rec(o.status), opts.now)
    if (include === 'None') return { cells }
    return { cells, object: include === 'Object' ? o : partialMetadata(o) }
  })
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: printer.columns,
    rows
  }
}
