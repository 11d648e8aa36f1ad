import { VOLUME_SOURCES } from './fields.ts'
import {
  QUANTITY_MSG, dns1123Label, dns1123Subdomain, duplicate, envName, forbidden, invalid, isRecord, labels, list, nonNegInt, notFound,
  oneOf, parseQuantity, portName, portNumber, portOrName, qualifiedName, required, requiredPort, strings
} from './validate-format.ts'
import type { Out, Rec } from './validate-format.ts'

/**
 * Validation of a PodSpec, for Pods and for the templates of Deployments and
 * ReplicaSets, after defaulting: Kubernetes' ValidatePodSpec
 * (pkg/apis/core/validation) for the fields Shoal runs.
 */

const PROTOCOLS = ['SCTP', 'TCP', 'UDP']

function volumes (out: Out, field: string, v: unknown): Set<string> {
  const names = new Set<string>()
  list(out, field, v).forEach((vol, i) => {
    const p = `${field}[${i}]`
    if (typeof vol.name !== 'string' || vol.name === '') out.push(required(`${p}.name`))
    else {
      for (const m of dns1123Label(vol.name)) out.push(invalid(`${p}.name`, vol.name, m))
      if (names.has(vol.name)) out.push(duplicate(`${p}.name`, vol.name))
      names.add(vol.name)
    }
    const sources = VOLUME_SOURCES.filter(s => vol[s] !== undefined)
    if (sources.length === 0) out.push(required(p, 'must specify a volume type'))
    for (const extra of sources.slice(1)) out.push(forbidden(`${p}.${extra}`, 'may not specify more than 1 volume type'))
    if (vol.hostPath !== undefined) {
      const hp = isRecord(vol.hostPath) ? vol.hostPath : {}
      if (typeof hp.path !== 'string' || hp.path === '') out.push(required(`${p}.hostPath.path`))
      else if (hp.path.split('/').includes('..')) out.push(invalid(`${p}.hostPath.path`, hp.path, "must not contain '..'"))
      oneOf(out, `${p}.hostPath.type`, hp.type, ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'])
    }
    if (isRecord(vol.emptyDir)) {
      oneOf(out, `${p}.emptyDir.medium`, vol.emptyDir.medium, ['', 'Memory'])
      const size = vol.emptyDir.sizeLimit
      if (size !== undefined && parseQuantity(size) === undefined) out.push(invalid(`${p}.emptyDir.sizeLimit`, size, QUANTITY_MSG))
    }
  })
  return names
}

/** Kubernetes' handler order; each one after the first is an error of its own. */
const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc']

function probe (out: Out, field: string, p: unknown, kind: 'liveness' | 'readiness' | 'startup'): void {
  if (p === undefined) return
  if (!isRecord(p)) { out.push(invalid(field, p, 'must be an object')); return }
  const handlers = HANDLERS.filter(h => p[h] !== undefined)
  if (handlers.length === 0) out.push(required(field, 'must specify a handler type'))
  for (const extra of handlers.slice(1)) out.push(forbidden(`${field}.${extra}`, 'may not specify more than 1 handler type'))
  const handler = handlers[0]
  const h = isRecord(p[handler ?? '']) ? p[handler ?? ''] as Rec : {}
  if (handler === 'exec' && !(Array.isArray(h.command) && h.command.length > 0)) out.push(required(`${field}.exec.command`))
  if (handler === 'httpGet') {
    portOrName(out, `${field}.httpGet.port`, h.port)
    oneOf(out, `${field}.httpGet.scheme`, h.scheme, ['HTTP', 'HTTPS'])
  }
  if (handler === 'tcpSocket') portOrName(out, `${field}.tcpSocket.port`, h.port)
  // Kubernetes knows gRPC probes; Shoal's kubelet does not run them, so it says so rather than accept a probe that never runs.
  if (handler === 'grpc') out.push(forbidden(`${field}.grpc`, 'gRPC probes are not supported by Shoal; use exec, httpGet or tcpSocket'))
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) nonNegInt(out, `${field}.${f}`, p[f])
  if (kind !== 'readiness' && p.successThreshold !== undefined && p.successThreshold !== 1) out.push(invalid(`${field}.successThreshold`, p.successThreshold, 'must be 1'))
}

/** cpu, memory, ephemeral-storage and hugepages-<size>; other resources need a domain (`example.com/gpu`). */
const CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage']
/** Kubernetes' standard resource names, which may appear unqualified anywhere (quotas among them). */
const STANDARD_RESOURCES = [...CONTAINER_RESOURCES, 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu',
  'limits.memory', 'limits.ephemeral-storage', 'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets',
  'persistentvolumeclaims', 'configmaps', 'services.nodeports', 'services.loadbalancers', 'requests.storage', 'storage']

function resourceName (out: Out, field: string, name: string): void {
  const qn = qualifiedName(name)
  for (const m of qn) out.push(invalid(field, name, m))
  if (qn.length > 0 || name.includes('/')) return
  const huge = name.startsWith('hugepages-')
  if (!huge && !STANDARD_RESOURCES.includes(name)) out.push(invalid(field, name, 'must be a standard resource type or fully qualified'))
  if (!huge && !CONTAINER_RESOURCES.includes(name)) out.push(invalid(field, name, 'must be a standard resource for containers'))
}

function resources (out: Out, field: string, r: unknown): void {
  if (r === undefined) return
  if (!isRecord(r)) { out.push(invalid(field, r, 'must be an object')); return }
  const parsed: Record<string, Map<string, number>> = {}
  for (const kind of ['limits', 'requests']) {
    const m = new Map<string, number>()
    parsed[kind] = m
    const v = r[kind]
    if (v === undefined) continue
    if (!isRecord(v)) { out.push(invalid(`${field}.${kind}`, v, 'must be a map of quantities')); continue }
    for (const [name, q] of Object.entries(v)) {
      const at = `${field}.${kind}[${name}]`
      resourceName(out, at, name)
      const n = parseQuantity(q)
      if (n === undefined) out.push(invalid(at, q, QUANTITY_MSG))
      else if (n < 0) out.push(invalid(at, q, 'must be greater than or equal to 0'))
      else m.set(name, n)
    }
  }
  for (const [name, req] of parsed.requests ?? []) {
    const limit = parsed.limits?.get(name)
    if (limit !== undefined && req > limit) {
      out.push(invalid(`${field}.requests[${name}]`, (r.requests as Rec)[name], `must be less than or equal to ${name} limit of ${String((r.limits as Rec)[name])}`))
    }
  }
}

const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef']

function env (out: Out, field: string, v: unknown): void {
  list(out, field, v).forEach((e, j) => {
    const ep = `${field}[${j}]`
    if (typeof e.name !== 'string' || e.name === '') out.push(required(`${ep}.name`))
    else for (const m of envName(e.name)) out.push(invalid(`${ep}.name`, e.name, m))
    if (e.value !== undefined && typeof e.value !== 'string') out.push(invalid(`${ep}.value`, e.value, 'must be a string'))
    if (e.valueFrom === undefined) return
    const from = isRecord(e.valueFrom) ? e.valueFrom : {}
    const n = ENV_SOURCES.filter(s => from[s] !== undefined).length
    if (n === 0) out.push(invalid(`${ep}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'))
    else if (typeof e.value === 'string' && e.value !== '') out.push(invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'))
    else if (n > 1) out.push(invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'))
  })
}

/** What the containers of one pod share: names, host ports, volumes. */
interface PodScope {
  readonly volumes: Set<string>
  readonly names: Set<string>
  readonly hostPorts: Set<string>
}

function ports (out: Out, field: string, v: unknown, scope: PodScope): void {
  const names = new Set<string>()
  list(out, field, v).forEach((pt, j) => {
    const pp = `${field}[${j}]`
    if (typeof pt.name === 'string' && pt.name !== '') {
      const before = out.length
      for (const m of portName(pt.name)) out.push(invalid(`${pp}.name`, pt.name, m))
      if (out.length === before && names.has(pt.name)) out.push(duplicate(`${pp}.name`, pt.name))
      names.add(pt.name)
    }
    requiredPort(out, `${pp}.containerPort`, pt.containerPort)
    if (pt.hostPort !== undefined && pt.hostPort !== 0) {
      portNumber(out, `${pp}.hostPort`, pt.hostPort)
      const key = `${String(pt.protocol ?? 'TCP')}/${String(pt.hostIP ?? '')}/${String(pt.hostPort)}`
      if (scope.hostPorts.has(key)) out.push(duplicate(`${pp}.hostPort`, key))
      scope.hostPorts.add(key)
    }
    if (pt.protocol === '') out.push(required(`${pp}.protocol`))
    else oneOf(out, `${pp}.protocol`, pt.protocol, PROTOCOLS)
  })
}

function volumeMounts (out: Out, field: string, v: unknown, vols: Set<string>): void {
  const paths = new Set<string>()
  list(out, field, v).forEach((vm, j) => {
    const mp = `${field}[${j}]`
    if (typeof vm.name !== 'string' || vm.name === '') out.push(required(`${mp}.name`))
    else if (!vols.has(vm.name)) out.push(notFound(`${mp}.name`, vm.name))
    if (typeof vm.mountPath !== 'string' || vm.mountPath === '') out.push(required(`${mp}.mountPath`))
    else if (paths.has(vm.mountPath)) out.push(invalid(`${mp}.mountPath`, vm.mountPath, 'must be unique'))
    else paths.add(vm.mountPath)
    if (typeof vm.subPath === 'string' && vm.subPath.split('/').includes('..')) out.push(invalid(`${mp}.subPath`, vm.subPath, "must not contain '..'"))
  })
}

function containers (out: Out, field: string, v: unknown, scope: PodScope, init: boolean): void {
  const cs = list(out, field, v)
  if (!init && cs.length === 0 && (v === undefined || Array.isArray(v))) out.push(required(field))
  cs.forEach((c, i) => {
    const p = `${field}[${i}]`
    if (typeof c.name !== 'string' || c.name === '') out.push(required(`${p}.name`))
    else {
      for (const m of dns1123Label(c.name)) out.push(invalid(`${p}.name`, c.name, m))
      if (scope.names.has(c.name)) out.push(duplicate(`${p}.name`, c.name))
      scope.names.add(c.name)
    }
    if (c.image === undefined || c.image === '') out.push(required(`${p}.image`))
    else if (typeof c.image !== 'string') out.push(invalid(`${p}.image`, c.image, 'must be a string'))
    else if (c.image.trim() !== c.image) out.push(invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'))
    strings(out, `${p}.command`, c.command)
    strings(out, `${p}.args`, c.args)
    oneOf(out, `${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'])
    oneOf(out, `${p}.terminationMessagePolicy`, c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError'])
    ports(out, `${p}.ports`, c.ports, scope)
    env(out, `${p}.env`, c.env)
    resources(out, `${p}.resources`, c.resources)
    volumeMounts(out, `${p}.volumeMounts`, c.volumeMounts, scope.volumes)
    // An init container runs to completion before the others start, so it has nothing to probe (sidecars aside).
    const sidecar = init && c.restartPolicy === 'Always'
    for (const [key, kind] of [['livenessProbe', 'liveness'], ['readinessProbe', 'readiness'], ['startupProbe', 'startup']] as const) {
      if (init && !sidecar && c[key] !== undefined) out.push(forbidden(`${p}.${key}`, 'may not be set for init containers without restartPolicy=Always'))
      else probe(out, `${p}.${key}`, c[key], kind)
    }
    if (init) oneOf(out, `${p}.restartPolicy`, c.restartPolicy, ['Always'])
    else if (c.restartPolicy !== undefined) out.push(forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'))
  })
}

/** `restartPolicies`: what the owner allows (a Deployment's pods restart Always). */
export function podSpec (out: Out, field: string, spec: unknown, restartPolicies: readonly string[]): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required(field) : invalid(field, spec, 'must be an object')); return }
  const scope: PodScope = { volumes: volumes(out, `${field}.volumes`, spec.volumes), names: new Set(), hostPorts: new Set() }
  containers(out, `${field}.containers`, spec.containers, scope, false)
  containers(out, `${field}.initContainers`, spec.initContainers, scope, true)
  oneOf(out, `${field}.restartPolicy`, spec.restartPolicy, restartPolicies)
  oneOf(out, `${field}.dnsPolicy`, spec.dnsPolicy, ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'])
  nonNegInt(out, `${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds)
  const ads = spec.activeDeadlineSeconds
  if (ads !== undefined && (typeof ads !== 'number' || !Number.isInteger(ads) || ads < 1 || ads > 2147483647)) {
    out.push(invalid(`${field}.activeDeadlineSeconds`, ads, 'must be between 1 and 2147483647, inclusive'))
  }
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') for (const m of dns1123Subdomain(spec.nodeName)) out.push(invalid(`${field}.nodeName`, spec.nodeName, m))
  labels(out, `${field}.nodeSelector`, spec.nodeSelector)
}
