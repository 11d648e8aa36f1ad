import { infoForKind, kindForResource, qualifiedKind } from './kinds.ts'
import type { KindInfo } from './kinds.ts'
import { podSpec } from './validate-pod.ts'
import {
  IP_MSG, configKey, dns1035Label, dns1123Label, dns1123Subdomain, duplicate, forbidden, full, invalid, isIP, isRecord, labelSelector,
  labelValue, labels, list, nonNegInt, notSupported, oneOf, portNumber, portOrName, qualifiedName, regexError, required, selects, tooLong
} from './validate-format.ts'
import { formatFieldError } from './validate-format.ts'
import type { FieldError, FieldErrorReason, Out, Rec } from './validate-format.ts'
import { FIELD_VALIDATION_VALUES } from './fields.ts'

export { dns1035Label, dns1123Label, dns1123Subdomain, formatFieldError, parseQuantity, qualifiedName } from './validate-format.ts'
export type { FieldError, FieldErrorReason } from './validate-format.ts'
export { dropUnknownFields, fieldValidationDirective, strictDecodingMessage, unknownFieldMessage, warningHeader } from './fields.ts'
export type { FieldValidation, UnknownFields } from './fields.ts'

/**
 * Validation of Kubernetes objects as they arrive at the API, after defaulting
 * (`defaultObject`): Kubernetes' own rules (pkg/apis/core/validation,
 * pkg/apis/apps/validation) for the kinds and fields Shoal runs, with their
 * field paths and wording. It reports every problem at once; the API answers
 * them as one 422 `Invalid` Status and writes nothing.
 *
 * Unknown fields are not this module's business: `dropUnknownFields`
 * (fields.ts) takes them off first, or fails a Strict request with a 400.
 * A field of the wrong JSON type, which Kubernetes' decoder refuses with a
 * 400, is reported here as a 422 (`must be an integer`).
 *
 * Where Shoal is stricter than Kubernetes it says so at the rule: Service
 * type ExternalName, gRPC probes, an Event without involvedObject.
 */

const PROTOCOLS = ['SCTP', 'TCP', 'UDP']
/** Kubernetes' TotalAnnotationSizeLimitB. */
const ANNOTATIONS_MAX_BYTES = 256 * 1024
const PERCENT_FMT = '[0-9]+%'

function metadata (out: Out, k: KindInfo, meta: unknown): void {
  if (!isRecord(meta)) { out.push(required('metadata')); return }
  const rule = k.kind === 'Namespace' ? dns1123Label : k.kind === 'Service' ? dns1035Label : dns1123Subdomain
  const name = meta.name
  if (name === undefined || name === '') {
    if (typeof meta.generateName !== 'string' || meta.generateName === '') out.push(required('metadata.name', 'name or generateName is required'))
  } else if (typeof name !== 'string') {
    out.push(invalid('metadata.name', name, 'must be a string'))
  } else {
    for (const m of rule(name)) out.push(invalid('metadata.name', name, m))
  }
  // A generated name is the prefix and a random suffix; Kubernetes checks the prefix with a trailing '-' masked.
  if (typeof meta.generateName === 'string' && meta.generateName !== '') {
    for (const m of rule(meta.generateName.replace(/-$/, 'a'))) out.push(invalid('metadata.generateName', meta.generateName, m))
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
    let size = 0
    for (const [key, value] of Object.entries(meta.annotations)) {
      for (const m of qualifiedName(key)) out.push(invalid('metadata.annotations', key, m))
      if (typeof value !== 'string') out.push(invalid(`metadata.annotations[${key}]`, value, 'must be a string'))
      size += key.length + (typeof value === 'string' ? value.length : 0)
    }
    if (size > ANNOTATIONS_MAX_BYTES) out.push(tooLong('metadata.annotations', ANNOTATIONS_MAX_BYTES))
  } else if (meta.annotations !== undefined) {
    out.push(invalid('metadata.annotations', meta.annotations, 'must be a map of strings'))
  }
  ownerReferences(out, meta.ownerReferences)
}

/** Kubernetes reports these without an index (`metadata.ownerReferences.uid`), as here. */
function ownerReferences (out: Out, v: unknown): void {
  const refs = list(out, 'metadata.ownerReferences', v)
  const path = 'metadata.ownerReferences'
  let controller: string | undefined
  for (const ref of refs) {
    const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : ''
    if (apiVersion.slice(apiVersion.indexOf('/') + 1) === '') out.push(invalid(`${path}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'))
    if (typeof ref.kind !== 'string' || ref.kind === '') out.push(invalid(`${path}.kind`, ref.kind ?? '', 'kind must not be empty'))
    if (typeof ref.name !== 'string' || ref.name === '') out.push(invalid(`${path}.name`, ref.name ?? '', 'name must not be empty'))
    if (typeof ref.uid !== 'string' || ref.uid === '') out.push(invalid(`${path}.uid`, ref.uid ?? '', 'uid must not be empty'))
    if (ref.controller !== true) continue
    const who = `${String(ref.kind)}/${String(ref.name)}`
    if (controller !== undefined) out.push(invalid(path, v, `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${who}`))
    controller ??= who
  }
}

// ---- workloads

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
  intOrPercent(out, 'spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable)
  intOrPercent(out, 'spec.strategy.rollingUpdate.maxSurge', ru.maxSurge)
  if (out.length > before) return
  const zero = (v: unknown): boolean => v === undefined || v === 0 || (typeof v === 'string' && parseInt(v, 10) === 0)
  if (zero(ru.maxSurge) && zero(ru.maxUnavailable)) out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'))
  if (typeof ru.maxUnavailable === 'string' && parseInt(ru.maxUnavailable, 10) > 100) out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'must not be greater than 100%'))
}

/**
 * Deployments and ReplicaSets: a replica count, a non-empty selector, and a
 * template whose labels it selects and whose pods restart Always (apps'
 * ValidatePodTemplateSpecForReplicaSet, whose messages say "deployment" and
 * "ReplicaSet" for both kinds, as here).
 */
function workload (out: Out, kind: string, spec: unknown): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required('spec') : invalid('spec', spec, 'must be an object')); return }
  nonNegInt(out, 'spec.replicas', spec.replicas)
  nonNegInt(out, 'spec.minReadySeconds', spec.minReadySeconds)
  const sel = spec.selector
  let selectorOk = false
  if (sel === undefined) out.push(required('spec.selector'))
  else if (!isRecord(sel)) out.push(invalid('spec.selector', sel, 'must be an object'))
  else {
    const before = out.length
    labelSelector(out, 'spec.selector', sel)
    const ml = isRecord(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0
    const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0
    if (ml + me === 0) out.push(invalid('spec.selector', sel, 'empty selector is invalid for deployment'))
    selectorOk = out.length === before
  }
  const tmpl = spec.template
  if (!isRecord(tmpl)) out.push(tmpl === undefined ? required('spec.template') : invalid('spec.template', tmpl, 'must be an object'))
  else {
    const tmplLabels = isRecord(tmpl.metadata) ? tmpl.metadata.labels : undefined
    labels(out, 'spec.template.metadata.labels', tmplLabels)
    if (selectorOk && !selects(sel as Rec, isRecord(tmplLabels) ? tmplLabels : {})) {
      out.push(invalid('spec.template.metadata.labels', tmplLabels ?? {}, '`selector` does not match template `labels`'))
    }
    podSpec(out, 'spec.template.spec', tmpl.spec, ['Always'])
    if (isRecord(tmpl.spec) && tmpl.spec.activeDeadlineSeconds !== undefined) {
      out.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported'))
    }
  }
  if (kind !== 'Deployment') return
  strategy(out, spec.strategy)
  nonNegInt(out, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit)
  nonNegInt(out, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds)
  const pds = spec.progressDeadlineSeconds
  const mrs = spec.minReadySeconds ?? 0
  if (typeof pds === 'number' && typeof mrs === 'number' && pds <= mrs) out.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'))
}

// ---- services and endpoints

/** Shoal serves ClusterIP, NodePort and LoadBalancer; ExternalName (a DNS alias) it has no DNS for. */
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer']

function service (out: Out, spec: unknown): void {
  if (!isRecord(spec)) { out.push(spec === undefined ? required('spec') : invalid('spec', spec, 'must be an object')); return }
  oneOf(out, 'spec.type', spec.type, SERVICE_TYPES)
  oneOf(out, 'spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None'])
  oneOf(out, 'spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local'])
  oneOf(out, 'spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local'])
  labels(out, 'spec.selector', spec.selector)
  const headless = spec.clusterIP === 'None'
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && !headless && !isIP(spec.clusterIP)) out.push(invalid('spec.clusterIP', spec.clusterIP, IP_MSG))
  if (headless && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) out.push(invalid('spec.clusterIP', 'None', `may not be set to 'None' for ${spec.type} services`))
  const ports = list(out, 'spec.ports', spec.ports)
  // A headless service (clusterIP: None) may have no ports; every other needs one.
  if (ports.length === 0 && !headless && (spec.ports === undefined || Array.isArray(spec.ports))) out.push(required('spec.ports'))
  const names = new Set<string>()
  const seen = new Set<string>()
  const nodePorts = new Set<string>()
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`
    if (typeof p.name === 'string' && p.name !== '') {
      for (const m of dns1123Label(p.name)) out.push(invalid(`${pp}.name`, p.name, m))
      if (names.has(p.name)) out.push(duplicate(`${pp}.name`, p.name))
      names.add(p.name)
    } else if (ports.length > 1) out.push(required(`${pp}.name`))
    portNumber(out, `${pp}.port`, p.port)
    if (p.protocol === '') out.push(required(`${pp}.protocol`))
    else oneOf(out, `${pp}.protocol`, p.protocol, PROTOCOLS)
    if (p.targetPort !== undefined) portOrName(out, `${pp}.targetPort`, p.targetPort)
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') out.push(forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${String(spec.type ?? 'ClusterIP')}'`))
      else if (typeof p.nodePort !== 'number' || !Number.isInteger(p.nodePort) || p.nodePort < 30000 || p.nodePort > 32767) {
        out.push(invalid(`${pp}.nodePort`, p.nodePort, 'provided port is not in the valid range. The range of valid ports is 30000-32767'))
      } else {
        const key = `${String(p.nodePort)}/${String(p.protocol ?? 'TCP')}`
        if (nodePorts.has(key)) out.push(duplicate(`${pp}.nodePort`, p.nodePort))
        nodePorts.add(key)
      }
    }
    const key = { port: p.port, protocol: p.protocol ?? 'TCP' }
    if (seen.has(JSON.stringify(key))) out.push(duplicate(pp, key))
    seen.add(JSON.stringify(key))
  })
}

function endpointAddresses (out: Out, field: string, v: unknown): number {
  const addrs = list(out, field, v)
  addrs.forEach((a, i) => {
    const p = `${field}[${i}]`
    if (a.ip === undefined || a.ip === '') out.push(required(`${p}.ip`))
    else if (typeof a.ip !== 'string' || !isIP(a.ip)) out.push(invalid(`${p}.ip`, a.ip, IP_MSG))
    if (typeof a.hostname === 'string' && a.hostname !== '') for (const m of dns1123Label(a.hostname)) out.push(invalid(`${p}.hostname`, a.hostname, m))
    if (typeof a.nodeName === 'string') for (const m of dns1123Subdomain(a.nodeName)) out.push(invalid(`${p}.nodeName`, a.nodeName, m))
  })
  return addrs.length
}

/**
 * Kubernetes' ValidateEndpoints, less ValidateNonSpecialIP: Shoal's test
 * clusters run on loopback addresses, which Kubernetes refuses as endpoints.
 */
function endpoints (out: Out, obj: Rec): void {
  list(out, 'subsets', obj.subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`
    const n = endpointAddresses(out, `${p}.addresses`, ss.addresses) + endpointAddresses(out, `${p}.notReadyAddresses`, ss.notReadyAddresses)
    if (n === 0) out.push(required(p, 'must specify `addresses` or `notReadyAddresses`'))
    const ports = list(out, `${p}.ports`, ss.ports)
    ports.forEach((pt, j) => {
      const pp = `${p}.ports[${j}]`
      if (typeof pt.name === 'string' && pt.name !== '') for (const m of dns1123Label(pt.name)) out.push(invalid(`${pp}.name`, pt.name, m))
      else if (ports.length > 1) out.push(required(`${pp}.name`))
      portNumber(out, `${pp}.port`, pt.port)
      if (pt.protocol === undefined || pt.protocol === '') out.push(required(`${pp}.protocol`))
      else oneOf(out, `${pp}.protocol`, pt.protocol, PROTOCOLS)
    })
  })
}

// ---- events, nodes, config maps

/**
 * Kubernetes' legacyValidateEvent for core/v1 Events, plus one Shoal rule:
 * involvedObject is required (Kubernetes lets it be empty), because events
 * are only ever found through it (`kubectl describe`'s field selectors).
 */
function event (out: Out, obj: Rec, namespace: unknown): void {
  const io = obj.involvedObject
  if (!isRecord(io) || Object.keys(io).length === 0) out.push(required('involvedObject'))
  const ioNs = isRecord(io) && typeof io.namespace === 'string' ? io.namespace : ''
  const ns = typeof namespace === 'string' ? namespace : ''
  const timed = obj.eventTime !== undefined && obj.eventTime !== ''
  const mismatch = timed
    ? ioNs === '' && ns !== 'default' && ns !== 'kube-system'
    : ioNs === '' ? ns !== '' && ns !== 'default' : ns !== ioNs
  if (mismatch) out.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'))
  // An event with eventTime is a "new" event (events.k8s.io shape) and must say who reported what.
  if (timed) {
    if (typeof obj.reportingComponent !== 'string' || obj.reportingComponent === '') out.push(required('reportingComponent'))
    else for (const m of qualifiedName(obj.reportingComponent)) out.push(invalid('reportingComponent', obj.reportingComponent, m))
    if (typeof obj.reportingInstance !== 'string' || obj.reportingInstance === '') out.push(required('reportingInstance'))
    if (typeof obj.action !== 'string' || obj.action === '') out.push(required('action'))
    if (typeof obj.reason !== 'string' || obj.reason === '') out.push(required('reason'))
  }
}

function node (out: Out, spec: unknown): void {
  if (spec === undefined) return
  if (!isRecord(spec)) { out.push(invalid('spec', spec, 'must be an object')); return }
  const seen = new Set<string>()
  list(out, 'spec.taints', spec.taints).forEach((t, i) => {
    const p = `spec.taints[${i}]`
    if (typeof t.key !== 'string') out.push(required(`${p}.key`))
    else for (const m of qualifiedName(t.key)) out.push(invalid(`${p}.key`, t.key, m))
    if (t.value !== undefined) {
      if (typeof t.value !== 'string') out.push(invalid(`${p}.value`, t.value, 'must be a string'))
      else { const errs = labelValue(t.value); if (errs.length > 0) out.push(invalid(`${p}.value`, t.value, errs.join(';'))) }
    }
    if (t.effect === undefined || t.effect === '') out.push(required(`${p}.effect`))
    else oneOf(out, `${p}.effect`, t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
    const key = JSON.stringify([t.key, t.effect])
    if (seen.has(key)) out.push(duplicate(p, t, 'taints must be unique by key and effect pair'))
    seen.add(key)
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
    case 'Endpoints': endpoints(out, obj); break
    case 'Event': event(out, obj, isRecord(obj.metadata) ? obj.metadata.namespace : undefined); break
    case 'Node': node(out, obj.spec); break
    case 'ConfigMap': configMap(out, obj); break
  }
  return out
}

const spec = (o: unknown): Rec => isRecord(o) && isRecord(o.spec) ? o.spec : {}
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * The fields Kubernetes lets a Pod update change: container images,
 * activeDeadlineSeconds and tolerations. Everything else of a running pod's
 * spec is fixed; the kubelet never has to reconcile a changed spec.
 */
function podSpecUpdate (out: Out, now: Rec, old: Rec): void {
  for (const key of ['containers', 'initContainers']) {
    const a = Array.isArray(now[key]) ? now[key] as unknown[] : []
    const b = Array.isArray(old[key]) ? old[key] as unknown[] : []
    if (a.length !== b.length) { out.push(forbidden(`spec.${key}`, 'pod updates may not add or remove containers')); return }
  }
  const munge = (s: Rec): Rec => {
    const { activeDeadlineSeconds: _a, tolerations: _t, ...rest } = s
    const noImage = (cs: unknown): unknown => Array.isArray(cs) ? cs.map(c => isRecord(c) ? { ...c, image: '' } : c) : cs
    return { ...rest, containers: noImage(s.containers), initContainers: noImage(s.initContainers) }
  }
  if (!same(munge(now), munge(old))) {
    out.push(forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'))
  }
}

/**
 * What an update may not change, over and above `validateObject`: Kubernetes'
 * ValidateXxxUpdate rules for selectors (apps/v1 made them immutable), a
 * Service's clusterIP and a Pod's spec. `obj` and `old` are defaulted objects.
 */
export function validateObjectUpdate (resource: string, obj: unknown, old: unknown): FieldError[] {
  const out: Out = []
  const now = spec(obj)
  const was = spec(old)
  switch (resource) {
    case 'deployments': case 'replicasets':
      if (!same(now.selector, was.selector)) out.push(invalid('spec.selector', now.selector ?? null, 'field is immutable'))
      break
    case 'services':
      // An update that leaves clusterIP out keeps the allocated one (the store fills it in), as Kubernetes' patchAllocatedValues does.
      if (typeof was.clusterIP === 'string' && was.clusterIP !== '' && now.clusterIP !== undefined && now.clusterIP !== '' && !same(now.clusterIP, was.clusterIP)) out.push(invalid('spec.clusterIP', now.clusterIP ?? '', 'field is immutable'))
      break
    case 'pods':
      podSpecUpdate(out, now, was)
      break
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
 * `group` names the group of a kind Shoal does not serve (`CreateOptions` of meta.k8s.io).
 */
export function statusForInvalid (kind: string, name: string, errors: readonly FieldError[], group?: string): InvalidStatus {
  const k = infoForKind(kind)
  const g = group ?? k?.group ?? ''
  const qualified = k !== undefined && group === undefined ? qualifiedKind(k) : g === '' ? kind : `${kind}.${g}`
  const lines = [...new Set(errors.map(formatFieldError))]
  const summary = lines.length === 1 ? (lines[0] ?? '') : `[${lines.join(', ')}]`
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${qualified} ${JSON.stringify(name)} is invalid: ${summary}`,
    reason: 'Invalid',
    details: {
      name,
      ...(g === '' ? {} : { group: g }),
      kind,
      causes: errors.map(e => ({ reason: e.reason, message: e.message, field: e.field }))
    },
    code: 422
  }
}

/**
 * The 422 for a `fieldValidation` value Kubernetes does not know, as its
 * ValidateCreateOptions/UpdateOptions/PatchOptions words it.
 */
export function statusForBadFieldValidation (options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions', value: string): InvalidStatus {
  return statusForInvalid(options, '', [notSupported('fieldValidation', value, FIELD_VALIDATION_VALUES)], 'meta.k8s.io')
}
