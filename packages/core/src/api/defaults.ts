import { kindForResource } from './kinds.ts'
import { isRecord } from '../store/merge-patch.ts'

/**
 * Kubernetes defaulting for the kinds Shoal serves. The server fills these in
 * before validation and storage so that what `kubectl get -o yaml` prints, and
 * what controllers read, matches a real cluster: a controller never has to
 * guess what an absent `restartPolicy` or `targetPort` means.
 *
 * As in Kubernetes, where defaulting runs on Go structs, a field left at its
 * zero value counts as unset: `restartPolicy: ""` becomes Always and a probe's
 * `periodSeconds: 0` becomes 10. Pointer fields keep a zero (`replicas: 0`,
 * `terminationGracePeriodSeconds: 0`). Unknown fields are not defaulting's
 * business: the API drops them before (fields.ts); whatever reaches here is kept.
 */

type Rec = Record<string, unknown>

/**
 * A deep copy without JSON nulls. For a whole object (not a patch) a null means
 * "unset" in Kubernetes, and kubectl's protobuf bodies decode to
 * `creationTimestamp: null`; dropping them keeps stored objects clean.
 */
function clean (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean)
  if (!isRecord(v)) return v
  const out: Rec = {}
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = clean(x)
  return out
}

/**
 * The record at `o[key]`, created when absent (only on our own copy). A value of
 * the wrong type is left in place for validation to report; defaults then go
 * into a detached record and are lost.
 */
function child (o: Rec, key: string): Rec {
  const v = o[key]
  if (isRecord(v)) return v
  const c: Rec = {}
  if (v === undefined) o[key] = c
  return c
}

function records (v: unknown): Rec[] {
  return Array.isArray(v) ? v.filter(isRecord) : []
}

/** Fills `key` when it is absent or '' (Go's zero value for a string). */
function setDefault (o: Rec, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === '') o[key] = value
}

/** Fills a non-pointer integer field of Kubernetes' Go types, whose 0 means unset. */
function setDefaultNonZero (o: Rec, key: string, value: number): void {
  if (o[key] === undefined || o[key] === 0) o[key] = value
}

/** `nginx`, `nginx:latest` and `reg:5000/nginx` pull always; a pinned tag or digest pulls if not present. */
export function defaultPullPolicy (image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent'
  const lastSlash = image.lastIndexOf('/')
  const colon = image.indexOf(':', lastSlash + 1)
  if (colon < 0) return 'Always'
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent'
}

function defaultProbe (p: unknown): void {
  if (!isRecord(p)) return
  setDefaultNonZero(p, 'periodSeconds', 10)
  setDefaultNonZero(p, 'timeoutSeconds', 1)
  setDefaultNonZero(p, 'successThreshold', 1)
  setDefaultNonZero(p, 'failureThreshold', 3)
  if (isRecord(p.httpGet)) {
    setDefault(p.httpGet, 'path', '/')
    setDefault(p.httpGet, 'scheme', 'HTTP')
  }
}

function defaultContainer (c: Rec): void {
  if (typeof c.image === 'string') setDefault(c, 'imagePullPolicy', defaultPullPolicy(c.image))
  setDefault(c, 'terminationMessagePath', '/dev/termination-log')
  setDefault(c, 'terminationMessagePolicy', 'File')
  for (const p of records(c.ports)) setDefault(p, 'protocol', 'TCP')
  defaultProbe(c.livenessProbe)
  defaultProbe(c.readinessProbe)
  defaultProbe(c.startupProbe)
}

/** Defaults of a PodSpec, shared by Pods and by Deployment/ReplicaSet templates. */
function defaultPodSpec (spec: Rec): void {
  setDefault(spec, 'restartPolicy', 'Always')
  setDefault(spec, 'terminationGracePeriodSeconds', 30)
  setDefault(spec, 'dnsPolicy', 'ClusterFirst')
  for (const c of records(spec.containers)) defaultContainer(c)
  for (const c of records(spec.initContainers)) defaultContainer(c)
  for (const v of records(spec.volumes)) if (isRecord(v.hostPath)) setDefault(v.hostPath, 'type', '')
}

function defaultTemplate (spec: Rec): void {
  if (isRecord(spec.template)) defaultPodSpec(child(spec.template, 'spec'))
}

function defaultDeployment (spec: Rec): void {
  setDefault(spec, 'replicas', 1)
  const strategy = child(spec, 'strategy')
  setDefault(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') {
    const ru = child(strategy, 'rollingUpdate')
    setDefault(ru, 'maxSurge', '25%')
    setDefault(ru, 'maxUnavailable', '25%')
  }
  setDefault(spec, 'revisionHistoryLimit', 10)
  setDefault(spec, 'progressDeadlineSeconds', 600)
  defaultTemplate(spec)
}

function defaultService (spec: Rec): void {
  setDefault(spec, 'type', 'ClusterIP')
  setDefault(spec, 'sessionAffinity', 'None')
  for (const p of records(spec.ports)) {
    setDefault(p, 'protocol', 'TCP')
    if (p.port !== undefined && (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '')) p.targetPort = p.port
  }
}

function defaultEndpoints (obj: Rec): void {
  for (const ss of records(obj.subsets)) for (const p of records(ss.ports)) setDefault(p, 'protocol', 'TCP')
}

/**
 * Returns a copy of `obj` with the Kubernetes defaults of `resource` (a plural
 * resource name) filled in. Never mutates `obj`, which may be a frozen store
 * object. Anything that is not an object is returned as is, for validation to
 * reject; fields of the wrong type are left alone for the same reason.
 */
export function defaultObject<T> (resource: string, obj: T): T {
  const out = clean(obj)
  const k = kindForResource(resource)
  if (!isRecord(out) || k === undefined) return out as T
  setDefault(out, 'apiVersion', k.apiVersion)
  setDefault(out, 'kind', k.kind)
  const meta = child(out, 'metadata')
  // The store owns generation; a protobuf body carries generation: 0.
  if (meta.generation === 0) delete meta.generation
  if (k.namespaced && (meta.namespace === undefined || meta.namespace === '')) meta.namespace = 'default'
  switch (k.kind) {
    case 'Pod':
      defaultPodSpec(child(out, 'spec'))
      break
    case 'Deployment':
      defaultDeployment(child(out, 'spec'))
      break
    case 'ReplicaSet': {
      const spec = child(out, 'spec')
      setDefault(spec, 'replicas', 1)
      defaultTemplate(spec)
      break
    }
    case 'Service':
      defaultService(child(out, 'spec'))
      break
    case 'Endpoints':
      defaultEndpoints(out)
      break
  }
  return out as T
}
