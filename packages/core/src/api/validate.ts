import { infoForKind, kindForResource, qualifiedKind } from './kinds.ts'
import type { KindInfo } from './kinds.ts'

/**
 * Validation of Kubernetes objects as they arrive at the API, after defaulting
 * (`defaultObject`). It reports every problem at once, each with its field path
 * and Kubernetes' own wording, because kubectl prints the 422 Status message
 * verbatim and users compare it with what a real cluster says.
 *
 * Unknown fields are not errors: they are kept, as Kubernetes does with
 * `fieldValidation=Ignore`. Strict rejection needs full schemas and is out of scope.
 */

/** Kubernetes' CauseType values. NotFound and Forbidden are used where Kubernetes uses them. */
export type FieldErrorReason =
  | 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate'
  | 'FieldValueNotFound' | 'FieldValueForbidden'

/** One problem; `message` is the body Kubernetes puts in a Status cause (`Invalid value: -1: must be ...`). */
export interface FieldError {
  readonly field: string
  readonly reason: FieldErrorReason
  readonly message: string
}

type Rec = Record<string, unknown>
type Out = FieldError[]

function isRecord (v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Renders a value the way Kubernetes does in messages: strings quoted, numbers bare, objects as JSON. */
function show (v: unknown): string {
  return v === undefined ? 'null' : JSON.stringify(v)
}

const required = (field: string, detail?: string): FieldError =>
  ({ field, reason: 'FieldValueRequired', message: detail === undefined ? 'Required value' : `Required value: ${detail}` })
const invalid = (field: string, value: unknown, detail: string): FieldError =>
  ({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${show(value)}: ${detail}` })
const notSupported = (field: string, value: unknown, valid: readonly string[]): FieldError =>
  ({ field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${show(value)}: supported values: ${valid.map(s => JSON.stringify(s)).join(', ')}` })
const duplicate = (field: string, value: unknown): FieldError =>
  ({ field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${show(value)}` })
const notFound = (field: string, value: unknown): FieldError =>
  ({ field, reason: 'FieldValueNotFound', message: `Not found: ${show(value)}` })
const forbidden = (field: string, detail: string): FieldError =>
  ({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` })

/** `spec.replicas: Invalid value: -1: must be ...`, the line kubectl prints for one error. */
export function formatFieldError (e: FieldError): string {
  return e.field === '' ? e.message : `${e.field}: ${e.message}`
}

// ---- formats (k8s.io/apimachinery/pkg/util/validation), with Kubernetes' messages

function regexError (msg: string, fmt: string, ...examples: string[]): string {
  return `${msg} (e.g. ${examples.map(e => `'${e}', `).join('or ')}regex used for validation is '${fmt}')`
}
const full = (fmt: string): RegExp => new RegExp(`^(?:${fmt})$`)
const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`
const DNS1035_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?'
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`
const ENV_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*'
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+'
const PERCENT_FMT = '[0-9]+%'
const maxLen = (n: number): string => `must be no more than ${n} characters`

function check (value: string, max: number, fmt: string, msg: string, ...examples: string[]): string[] {
  const errs = value.length > max ? [maxLen(max)] : []
  if (!full(fmt).test(value)) errs.push(regexError(msg, fmt, ...examples))
  return errs
}
export const dns1123Label = (v: string): string[] => check(v, 63, LABEL_FMT,
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", 'my-name', '123-abc')
export const dns1123Subdomain = (v: string): string[] => check(v, 253, SUBDOMAIN_FMT,
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", 'example.com')
export const dns1035Label = (v: string): string[] => check(v, 63, DNS1035_FMT,
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", 'my-name', 'abc-123')
const labelValue = (v: string): string[] => check(v, 63, LABEL_VALUE_FMT,
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", 'MyValue', 'my_value', '12345')
const envName = (v: string): string[] => check(v, Infinity, ENV_FMT,
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit", 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1')
const configKey = (v: string): string[] => check(v, 253, CONFIG_KEY_FMT,
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", 'key.name', 'KEY_NAME', 'key-name')

/** A label or annotation key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function qualifiedName (value: string): string[] {
  const msg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  const parts = value.split('/')
  if (parts.length > 2) return [`a qualified name ${regexError(msg, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`]
  const name = parts[parts.length - 1] ?? ''
  const errs: string[] = []
  if (parts.length === 2) {
    const prefix = parts[0] ?? ''
    if (prefix === '') errs.push('prefix part must be non-empty')
    else errs.push(...dns1123Subdomain(prefix).map(m => `prefix part ${m}`))
  }
  if (name === '') errs.push('name part must be non-empty')
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`)
  if (!full(QNAME_FMT).test(name)) errs.push(`name part ${regexError(msg, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`)
  return errs
}

/** An IANA service name, as a named port (`http`, `metrics`). */
function portName (v: string): string[] {
  const errs = v.length > 15 ? [maxLen(15)] : []
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')
  else if (v.includes('--')) errs.push('must not contain consecutive hyphens')
  else if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen')
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)')
  return errs
}

const QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60
}

/** The value of a resource quantity (`100m` = 0.1, `64Mi`, `1e3`), or undefined when it does not parse. */
export function parseQuantity (q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined
  if (typeof q !== 'string') return undefined
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))$/.exec(q)
  if (m === null) return undefined
  const n = Number(m[1])
  if (m[2] !== undefined) return Number(`${m[1] ?? ''}${m[2]}`)
  const mult = SUFFIX[m[3] ?? '']
  return mult === undefined ? undefined : n * mult
}

// ---- field checks

function oneOf (out: Out, field: string, v: unknown, valid: readonly string[]): void {
  if (v !== undefined && (typeof v !== 'string' || !valid.includes(v))) out.push(notSupported(field, v, valid))
}

function nonNegInt (out: Out, field: string, v: unknown): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) out.push(invalid(field, v, 'must be an integer'))
  else if (v < 0) out.push(invalid(field, v, 'must be greater than or equal to 0'))
}

function list (out: Out, field: string, v: unknown): Rec[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) { out.push(invalid(field, v, 'must be a list')); return [] }
  return v.map((x, i) => {
    if (!isRecord(x)) out.push(invalid(`${field}[${i}]`, x, 'must be an object'))
    return isRecord(x) ? x : {}
  })
}

function port (out: Out, field: string, v: unknown): void {
  if (v === undefined || v === 0) out.push(required(field))
  else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) out.push(invalid(field, v, 'must be between 1 and 65535, inclusive'))
}

function portOrName (out: Out, field: string, v: unknown): void {
  if (typeof v === 'string') for (const m of portName(v)) out.push(invalid(field, v, m))
  else port(out, field, v)
}

function labels (out: Out, field: string, v: unknown): void {
  if (v === undefined) return
  if (!isRecord(v)) { out.push(invalid(field, v, 'must be a map of strings')); return }
  for (const [key, value] of Object.entries(v)) {
    for (const m of qualifiedName(key)) out.push(invalid(field, key, m))
    if (typeof value !== 'string') out.push(invalid(field, value, 'must be a string'))
    else for (const m of labelValue(value)) out.push(invalid(field, value, m))
  }
}

function metadata (out: Out, k: KindInfo, meta: unknown): void {
  if (!isRecord(meta)) { out.push(required('metadata')); return }
  const name = meta.name
  if (name === undefined || name === '') {
    if (typeof meta.generateName !== 'string' || meta.generateName === '') out.push(required('metadata.name', 'name or generateName is required'))
  } else if (typeof name !== 'string') {
    out.push(invalid('metadata.name', name, 'must be a string'))
  } else {
    const rule = k.kind === 'Namespace' ? dns1123Label : k.kind === 'Service' ? dns1035Label : dns1123Subdomain
    for (const m of rule(name)) out.push(invalid('metadata.name', name, m))
  }
  const ns = meta.namespace
  if (k.namespaced) {
    if (ns === undefined || ns === '') out.push(required('metadata.namespace'))
    else if (typeof ns !== 'string') out.push(invalid('metadata.namespace', ns, 'must be a string'))
    else for (const m of dns1123Label(ns)) out.push(invalid('metadata.namespace', ns, m))
  } else if (ns !== undefined && ns !== '') {
    out.push(forbidden('metadata.namespace', 'not allowed on this type'))
  }
  labels(out, 'metadata.labels', meta.labels)
  if (isRecord(meta.annotations)) {
    for (const key of Object.keys(meta.annotations)) for (const m of qualifiedName(key)) out.push(invalid('metadata.annotations', key, m))
  } else if (meta.annotations !== undefined) {
    out.push(invalid('metadata.annotations', meta.annotations, 'must be a map of strings'))
  }
}

// ---- pods

/** Kubernetes counts every volume source; Shoal's runtime only mounts emptyDir, hostPath and configMap. */
const VOLUME_SOURCES = ['emptyDir', 'hostPath', 'configMap', 'secret', 'persistentVolumeClaim', 'downwardAPI', 'projected', 'nfs']

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
    else if (sources.length > 1) out.push(forbidden(`${p}.${sources[1] ?? ''}`, 'may not specify more than 1 volume type'))
    if (vol.hostPath !== undefined && (!isRecord(vol.hostPath) || typeof vol.hostPath.path !== 'string' || vol.hostPath.path === '')) {
      out.push(required(`${p}.hostPath.path`))
    }
    if (isRecord(vol.emptyDir)) {
      oneOf(out, `${p}.emptyDir.medium`, vol.emptyDir.medium, ['', 'Memory'])
      const size = vol.emptyDir.sizeLimit
      if (size !== undefined && parseQuantity(size) === undefined) out.push(invalid(`${p}.emptyDir.sizeLimit`, size, QUANTITY_MSG))
    }
  })
  return names
}

/** The handlers Shoal can run; `grpc` is not among them. */
const HANDLERS = ['exec', 'httpGet', 'tcpSocket']

function probe (out: Out, field: string, p: unknown): void {
  if (p === undefined) return
  if (!isRecord(p)) { out.push(invalid(field, p, 'must be an object')); return }
  const handlers = HANDLERS.filter(h => p[h] !== undefined)
  if (handlers.length === 0) out.push(required(field, 'must specify a handler type'))
  else if (handlers.length > 1) out.push(forbidden(`${field}.${handlers[1] ?? ''}`, 'may not specify more than 1 handler type'))
  if (p.httpGet !== undefined) portOrName(out, `${field}.httpGet.port`, isRecord(p.httpGet) ? p.httpGet.port : undefined)
  if (p.tcpSocket !== undefined) portOrName(out, `${field}.tcpSocket.port`, isRecord(p.tcpSocket) ? p.tcpSocket.port : undefined)
  if (p.exec !== undefined && !(isRecord(p.exec) && Array.isArray(p.exec.command) && p.exec.command.length > 0)) out.push(required(`${field}.exec.command`))
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) nonNegInt(out, `${field}.${f}`, p[f])
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
      const n = parseQuantity(q)
      if (n === undefined) out.push(invalid(`${field}.${kind}[${name}]`, q, QUANTITY_MSG))
      else if (n < 0) out.push(invalid(`${field}.${kind}[${name}]`, q, 'must be greater than or equal to 0'))
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

function containers (out: Out, field: string, v: unknown, vols: Set<string>, names: Set<string>, needed: boolean): void {
  const cs = list(out, field, v)
  if (needed && cs.length === 0 && (v === undefined || Array.isArray(v))) out.push(required(field))
  cs.forEach((c, i) => {
    const p = `${field}[${i}]`
    if (typeof c.name !== 'string' || c.name === '') out.push(required(`${p}.name`))
    else {
      for (const m of dns1123Label(c.name)) out.push(invalid(`${p}.name`, c.name, m))
      if (names.has(c.name)) out.push(duplicate(`${p}.name`, c.name))
      names.add(c.name)
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') out.push(required(`${p}.image`))
    oneOf(out, `${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'])
    list(out, `${p}.ports`, c.ports).forEach((pt, j) => {
      const pp = `${p}.ports[${j}]`
      port(out, `${pp}.containerPort`, pt.containerPort)
      if (pt.hostPort !== undefined && pt.hostPort !== 0) port(out, `${pp}.hostPort`, pt.hostPort)
      oneOf(out, `${pp}.protocol`, pt.protocol, ['SCTP', 'TCP', 'UDP'])
      if (typeof pt.name === 'string') for (const m of portName(pt.name)) out.push(invalid(`${pp}.name`, pt.name, m))
    })
    list(out, `${p}.env`, c.env).forEach((e, j) => {
      const ep = `${p}.env[${j}].name`
      if (typeof e.name !== 'string' || e.name === '') out.push(required(ep))
      else for (const m of envName(e.name)) out.push(invalid(ep, e.name, m))
    })
    resources(out, `${p}.resources`, c.resources)
    const paths = new Set<string>()
    list(out, `${p}.volumeMounts`, c.volumeMounts).forEach((vm, j) => {
      const mp = `${p}.volumeMounts[${j}]`
      if (typeof vm.name !== 'string' || vm.name === '') out.push(required(`${mp}.name`))
      else if (!vols.has(vm.name)) out.push(notFound(`${mp}.name`, vm.name))
      if (typeof vm.mountPath !== 'string' || vm.mountPath === '') out.push(required(`${mp}.mountPath`))
      else if (paths.has(vm.mountPath)) out.push(invalid(`${mp}.mountPath`, vm.mountPath, 'must be unique'))
      else paths.add(vm.mountPath)
    })
    probe(out, `${p}.livenessProbe`, c.livenessProbe)
    probe(out, `${p}.readinessProbe`, c.readinessProbe)
    probe(out, `${p}.startupProbe`, c.startupProbe)
  })
}

function podSpec (out: Out, field: string, spec: unknown, restartPolicies: readonly string[]): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required(field) : invalid(field, spec, 'must be an object')); return }
  const vols = volumes(out, `${field}.volumes`, spec.volumes)
  const names = new Set<string>()
  containers(out, `${field}.containers`, spec.containers, vols, names, true)
  containers(out, `${field}.initContainers`, spec.initContainers, vols, names, false)
  oneOf(out, `${field}.restartPolicy`, spec.restartPolicy, restartPolicies)
  oneOf(out, `${field}.dnsPolicy`, spec.dnsPolicy, ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'])
  nonNegInt(out, `${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds)
  labels(out, `${field}.nodeSelector`, spec.nodeSelector)
}

// ---- workloads

/** Whether a metav1.LabelSelector selects a set of labels. */
function selects (sel: Rec, labels: Rec): boolean {
  const ml = isRecord(sel.matchLabels) ? sel.matchLabels : {}
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false
  return (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).every((e: Rec) => {
    const has = typeof e.key === 'string' && typeof labels[e.key] === 'string'
    const inValues = has && Array.isArray(e.values) && e.values.includes(labels[e.key as string])
    switch (e.operator) {
      case 'In': return inValues
      case 'NotIn': return !inValues
      case 'Exists': return has
      default: return !has
    }
  })
}

function selector (out: Out, sel: unknown, templateLabels: Rec, kind: string): void {
  if (sel === undefined) { out.push(required('spec.selector')); return }
  if (!isRecord(sel)) { out.push(invalid('spec.selector', sel, 'must be an object')); return }
  const before = out.length
  labels(out, 'spec.selector.matchLabels', sel.matchLabels)
  const exprs = list(out, 'spec.selector.matchExpressions', sel.matchExpressions)
  exprs.forEach((e, i) => {
    const p = `spec.selector.matchExpressions[${i}]`
    if (typeof e.key !== 'string') out.push(required(`${p}.key`))
    else for (const m of qualifiedName(e.key)) out.push(invalid(`${p}.key`, e.key, m))
    oneOf(out, `${p}.operator`, e.operator, ['In', 'NotIn', 'Exists', 'DoesNotExist'])
    const n = Array.isArray(e.values) ? e.values.length : 0
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) out.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) out.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
  })
  if (out.length > before) return
  const ml = isRecord(sel.matchLabels) ? sel.matchLabels : {}
  if (Object.keys(ml).length === 0 && exprs.length === 0) out.push(invalid('spec.selector', sel, `empty selector is invalid for ${kind}`))
  else if (!selects(sel, templateLabels)) out.push(invalid('spec.selector', sel, 'selector does not match template labels'))
}

function intOrPercent (out: Out, field: string, v: unknown): void {
  if (typeof v === 'string') {
    if (!full(PERCENT_FMT).test(v)) out.push(invalid(field, v, regexError("a valid percent string must be a numeric string followed by an ending '%'", PERCENT_FMT, '1%', '93%')))
  } else nonNegInt(out, field, v)
}

function strategy (out: Out, s: unknown): void {
  if (s === undefined) return
  if (!isRecord(s)) { out.push(invalid('spec.strategy', s, 'must be an object')); return }
  oneOf(out, 'spec.strategy.type', s.type, ['Recreate', 'RollingUpdate'])
  const ru = s.rollingUpdate
  if (s.type === 'Recreate' && ru !== undefined) out.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"))
  if (s.type !== 'RollingUpdate' || !isRecord(ru)) return
  const before = out.length
  intOrPercent(out, 'spec.strategy.rollingUpdate.maxSurge', ru.maxSurge)
  intOrPercent(out, 'spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable)
  if (out.length > before) return
  const zero = (v: unknown): boolean => v === 0 || v === '0%'
  if (zero(ru.maxSurge) && zero(ru.maxUnavailable)) out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'))
  if (typeof ru.maxUnavailable === 'string' && parseInt(ru.maxUnavailable, 10) > 100) out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'must not be greater than 100%'))
}

/** Deployments and ReplicaSets: a selector, a template it selects, and a replica count. */
function workload (out: Out, kind: string, spec: unknown): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required('spec') : invalid('spec', spec, 'must be an object')); return }
  nonNegInt(out, 'spec.replicas', spec.replicas)
  nonNegInt(out, 'spec.minReadySeconds', spec.minReadySeconds)
  const tmpl = spec.template
  let tmplLabels: Rec = {}
  if (!isRecord(tmpl)) out.push(required('spec.template'))
  else {
    if (isRecord(tmpl.metadata) && isRecord(tmpl.metadata.labels)) tmplLabels = tmpl.metadata.labels
    labels(out, 'spec.template.metadata.labels', isRecord(tmpl.metadata) ? tmpl.metadata.labels : undefined)
    podSpec(out, 'spec.template.spec', tmpl.spec, ['Always'])
  }
  selector(out, spec.selector, tmplLabels, kind.toLowerCase())
  if (kind !== 'Deployment') return
  nonNegInt(out, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit)
  nonNegInt(out, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds)
  const pds = spec.progressDeadlineSeconds
  const mrs = spec.minReadySeconds
  if (typeof pds === 'number' && typeof mrs === 'number' && pds <= mrs) out.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'))
  strategy(out, spec.strategy)
}

// ---- services and config maps

function service (out: Out, spec: unknown): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required('spec') : invalid('spec', spec, 'must be an object')); return }
  oneOf(out, 'spec.type', spec.type, ['ClusterIP', 'NodePort', 'LoadBalancer'])
  oneOf(out, 'spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None'])
  labels(out, 'spec.selector', spec.selector)
  const ports = list(out, 'spec.ports', spec.ports)
  // A headless service (clusterIP: None) may have no ports; every other needs one.
  if (ports.length === 0 && spec.clusterIP !== 'None' && (spec.ports === undefined || Array.isArray(spec.ports))) out.push(required('spec.ports'))
  const names = new Set<string>()
  const seen = new Set<string>()
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`
    if (typeof p.name === 'string' && p.name !== '') {
      for (const m of dns1123Label(p.name)) out.push(invalid(`${pp}.name`, p.name, m))
      if (names.has(p.name)) out.push(duplicate(`${pp}.name`, p.name))
      names.add(p.name)
    } else if (ports.length > 1) out.push(required(`${pp}.name`))
    port(out, `${pp}.port`, p.port)
    oneOf(out, `${pp}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP'])
    if (p.targetPort !== undefined) portOrName(out, `${pp}.targetPort`, p.targetPort)
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') out.push(forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${String(spec.type ?? 'ClusterIP')}'`))
      else if (typeof p.nodePort !== 'number' || !Number.isInteger(p.nodePort) || p.nodePort < 30000 || p.nodePort > 32767) {
        out.push(invalid(`${pp}.nodePort`, p.nodePort, 'provided port is not in the valid range. The range of valid ports is 30000-32767'))
      }
    }
    const key = { port: p.port, protocol: p.protocol ?? 'TCP' }
    if (seen.has(JSON.stringify(key))) out.push(duplicate(pp, key))
    seen.add(JSON.stringify(key))
  })
}

function configMap (out: Out, obj: Rec): void {
  const keys = new Set<string>()
  for (const field of ['data', 'binaryData']) {
    const v = obj[field]
    if (v === undefined) continue
    if (!isRecord(v)) { out.push(invalid(field, v, 'must be a map of strings')); continue }
    for (const [key, value] of Object.entries(v)) {
      for (const m of configKey(key)) out.push(invalid(field, key, m))
      if (keys.has(key)) out.push(duplicate(field, key))
      keys.add(key)
      if (typeof value !== 'string') out.push(invalid(`${field}[${key}]`, value, 'must be a string'))
    }
  }
}

/**
 * Every problem with `obj` as an object of `resource` (a plural resource name),
 * or [] when it is valid. Meant for objects that went through `defaultObject`:
 * fields that have defaults are only checked when present.
 */
export function validateObject (resource: string, obj: unknown): FieldError[] {
  const k = kindForResource(resource)
  if (k === undefined) return [notSupported('kind', resource, [])]
  if (!isRecord(obj)) return [invalid('', obj, `must be a ${k.kind} object`)]
  const out: Out = []
  if (obj.apiVersion === undefined) out.push(required('apiVersion'))
  else if (obj.apiVersion !== k.apiVersion) out.push(notSupported('apiVersion', obj.apiVersion, [k.apiVersion]))
  if (obj.kind === undefined) out.push(required('kind'))
  else if (obj.kind !== k.kind) out.push(notSupported('kind', obj.kind, [k.kind]))
  metadata(out, k, obj.metadata)
  switch (k.kind) {
    case 'Pod': podSpec(out, 'spec', obj.spec, ['Always', 'OnFailure', 'Never']); break
    case 'Deployment': case 'ReplicaSet': workload(out, k.kind, obj.spec); break
    case 'Service': service(out, obj.spec); break
    case 'ConfigMap': configMap(out, obj); break
  }
  return out
}

/** The body of a 422 answer, which kubectl prints as `The Deployment "web" is invalid: ...`. */
export interface InvalidStatus {
  readonly kind: 'Status'
  readonly apiVersion: 'v1'
  readonly metadata: Record<string, never>
  readonly status: 'Failure'
  readonly message: string
  readonly reason: 'Invalid'
  readonly details: {
    readonly name: string
    readonly group?: string
    readonly kind: string
    readonly causes: ReadonlyArray<{ readonly reason: FieldErrorReason, readonly message: string, readonly field: string }>
  }
  readonly code: 422
}

/**
 * Kubernetes' `NewInvalid`: one error reads `Deployment.apps "web" is invalid: <error>`,
 * several read `... is invalid: [<error>, <error>]`. The group is omitted for the core group.
 */
export function statusForInvalid (kind: string, name: string, errors: readonly FieldError[]): InvalidStatus {
  const k = infoForKind(kind)
  const group = k?.group ?? ''
  const lines = [...new Set(errors.map(formatFieldError))]
  const summary = lines.length === 1 ? (lines[0] ?? '') : `[${lines.join(', ')}]`
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${k === undefined ? kind : qualifiedKind(k)} ${JSON.stringify(name)} is invalid: ${summary}`,
    reason: 'Invalid',
    details: {
      name,
      ...(group === '' ? {} : { group }),
      kind,
      causes: errors.map(e => ({ reason: e.reason, message: e.message, field: e.field }))
    },
    code: 422
  }
}
