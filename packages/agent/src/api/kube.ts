import { KINDS, buildTable, kindForResource, qualifiedResource, defaultObject, validateObject, validateObjectUpdate, statusForInvalid, statusForBadFieldValidation, dropUnknownFields, fieldValidationDirective, strictDecodingMessage, unknownFieldMessage, warningHeader, applyStrategicMergePatch, applyJsonPatch, decodeK8sProtobuf, type KindInfo } from '@shoal/core/api/index.ts'
import { applyMergePatch } from '@shoal/core/store/merge-patch.ts'
import { ShoalError, type BatchResult, type Command, type KubeObject, type ListOptions, type ObjectInput, type ObjectStore, type Result } from '@shoal/core'
import { VERSION } from '../version.ts'
import { Reply, StreamReply } from './status.ts'
import type { IncomingMessage } from 'node:http'
import type { PodIO } from '../kubelet/pod-io.ts'
import { logOptions, podTarget, queryFlag, streamExec, streamLogs } from './pod-stream.ts'
import { deleteOptionsOf, deletionCommand } from './delete.ts'

/**
 * The Kubernetes API, as stock kubectl needs it (see
 * shared/docs/kubernetes-api.md): /version, discovery, the OpenAPI stubs
 * that let `kubectl apply` leave validation to the server, lists, Tables,
 * watches and objects from the local replica, create / update / patch /
 * delete through Raft with Kubernetes defaults and validation, the scale and
 * status subresources, and pod log and exec (pod-stream.ts).
 */

/**
 * A route. With `rawBody`, the server does not read the request body first:
 * `body` is the request itself, to stream from (exec's stdin).
 */
export type Handler = ((params: Record<string, string>, query: URLSearchParams, body: unknown, contentType: string, accept: string) => unknown) & { readonly rawBody?: true }
/** The PodIO of a node by name; undefined when the node cannot be reached. */
export type PodIOFor = (nodeName: string) => PodIO | undefined

function rawBody (h: Handler): Handler {
  return Object.assign(h, { rawBody: true as const })
}
type Store = () => ObjectStore
type Write = (cmd: Command) => Promise<Result | BatchResult>

/** Attempts at a read-modify-write patch before a Conflict is returned. */
const PATCH_ATTEMPTS = 5

const GROUPS = [...new Set(KINDS.map(k => k.group))]

/** The kinds `kubectl get all` lists, as Kubernetes puts them in the `all` category. */
const IN_ALL: ReadonlySet<string> = new Set(['pods', 'services', 'deployments', 'replicasets'])

function resourceList (group: string): unknown {
  const kinds = KINDS.filter(k => k.group === group)
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? 'v1' : `${group}/v1`,
    resources: kinds.flatMap(k => [
      {
        name: k.resource,
        singularName: k.singular,
        namespaced: k.namespaced,
        kind: k.kind,
        shortNames: k.shortNames,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        ...(IN_ALL.has(k.resource) ? { categories: ['all'] } : {})
      },
      ...(k.statusSubresource ? [{ name: `${k.resource}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ...(k.resource === 'deployments' || k.resource === 'replicasets'
        ? [{ name: `${k.resource}/scale`, singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }]
        : []),
      ...(k.resource === 'pods' ? [{ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] }, { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] }] : [])
    ])
  }
}

function openapiFor (group: string): unknown {
  const paths: Record<string, unknown> = {}
  for (const k of KINDS.filter(x => x.group === group)) {
    const prefix = group === '' ? '/api/v1' : `/apis/${group}/v1`
    paths[`${prefix}/${k.namespaced ? 'namespaces/{namespace}/' : ''}${k.resource}/{name}`] = {
      patch: { 'x-kubernetes-group-version-kind': { group, version: 'v1', kind: k.kind }, parameters: [{ name: 'fieldValidation', in: 'query' }] }
    }
  }
  return { paths }
}

/**
 * An OpenAPI v2 document with no definitions. kubectl before 1.27 fetches it
 * (as protobuf) to validate manifests on the client, and skips validation of
 * the kinds it does not describe, leaving it to the server, as v3 does.
 */
function openapiV2 (accept: string): unknown {
  const info = { title: 'Shoal', version: 'v1.32.0' }
  if (!accept.includes('protobuf')) return { swagger: '2.0', info, paths: {} }
  const text = (field: number, value: string): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(value)]), Buffer.from(value)])
  const infoBytes = Buffer.concat([text(1, info.title), text(2, info.version)])
  // gnostic's openapi_v2.Document: swagger (1), info (2).
  const doc = Buffer.concat([text(1, '2.0'), Buffer.from([(2 << 3) | 2, infoBytes.length]), infoBytes])
  return new StreamReply(res => { res.writeHead(200, { 'content-type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' }).end(doc) })
}

function notFound (k: KindInfo, name: string): ShoalError {
  return new ShoalError('NotFound', 404, `${qualifiedResource(k)} "${name}" not found`)
}

function kindOr404 (group: string, resource: string): KindInfo {
  const k = kindForResource(resource)
  if (k === undefined || k.group !== group) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${resource})`)
  return k
}

function scalable (resource: string): KindInfo {
  const k = kindOr404('apps', resource)
  if (k.resource !== 'deployments' && k.resource !== 'replicasets') throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${resource}/scale)`)
  return k
}

/** The autoscaling/v1 Scale view of a Deployment or ReplicaSet. */
function scaleOf (o: KubeObject): unknown {
  const spec = o.spec as { replicas?: number, selector?: { matchLabels?: Record<string, string> } } | undefined
  const status = o.status as { replicas?: number } | undefined
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: spec?.replicas ?? 0 },
    status: { replicas: status?.replicas ?? 0, selector: Object.entries(spec?.selector?.matchLabels ?? {}).map(([key, v]) => `${key}=${v}`).join(',') }
  }
}

function clusterKind (group: string, resource: string): KindInfo {
  const k = kindOr404(group, resource)
  if (k.namespaced) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${resource})`)
  return k
}

/** kubectl asks for `application/json;as=Table;…` on every get, and prints the columns it is given. */
function wantsTable (accept: string): boolean {
  return accept.includes('as=Table')
}

function tableOf (k: KindInfo, objects: readonly KubeObject[], resourceVersion: string, query: URLSearchParams): unknown {
  const include = query.get('includeObject')
  return buildTable(k.resource, objects, { now: Date.now(), resourceVersion, includeObject: include === 'Object' || include === 'None' ? include : 'Metadata' })
}

/** Longest a watch stays open when the client does not say, s; kubectl re-watches. */
const DEFAULT_WATCH_SECONDS = 1800

/** The namespace and the label and field selectors of a list or watch request. */
function listOptions (namespace: string | undefined, query: URLSearchParams): ListOptions {
  const labelSelector = query.get('labelSelector')
  const fieldSelector = query.get('fieldSelector')
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    ...(labelSelector !== null ? { labelSelector } : {}),
    ...(fieldSelector !== null ? { fieldSelector } : {})
  }
}

/**
 * `?watch=true`: newline-delimited events from `resourceVersion` on. With no
 * resourceVersion (or 0) every current object comes first as ADDED. A version
 * older than the store's history gets one ERROR event with a 410 Status.
 */
function watch (store: ObjectStore, k: KindInfo, namespace: string | undefined, query: URLSearchParams, accept: string): StreamReply {
  const selectors = listOptions(namespace, query)
  const rv = query.get('resourceVersion') ?? ''
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? DEFAULT_WATCH_SECONDS)
  return new StreamReply(res => {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    // The client learns the watch is open before the first event comes.
    res.flushHeaders()
    const emit = (type: string, object: unknown): void => { res.write(JSON.stringify({ type, object }) + '\n') }
    // A Table watch carries a one-row Table per event.
    const typed = (o: KubeObject): unknown => wantsTable(accept) ? tableOf(k, [o], o.metadata.resourceVersion, query) : { ...o, apiVersion: k.apiVersion, kind: k.kind }
    let from: string | number = rv
    if (rv === '' || rv === '0') {
      const initial = store.list(k.resource, selectors)
      if (!initial.ok) {
        emit('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: initial.message, reason: initial.reason, code: initial.code })
        res.end()
        return
      }
      for (const o of initial.items) emit('ADDED', typed(o))
      from = initial.resourceVersion
    }
    const w = store.watch({ resource: k.resource, ...selectors, fromResourceVersion: from }, e => emit(e.type, typed(e.object)))
    if (!w.ok) {
      emit('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: w.message, reason: w.reason === 'Gone' ? 'Expired' : w.reason, code: w.code })
      res.end()
      return
    }
    const timer = setTimeout(() => res.end(), Math.max(1, Number.isFinite(timeoutSeconds) ? timeoutSeconds : DEFAULT_WATCH_SECONDS) * 1000)
    res.on('close', () => {
      clearTimeout(timer)
      w.stop()
    })
  })
}

function list (store: ObjectStore, k: KindInfo, namespace: string | undefined, query: URLSearchParams, accept: string): unknown {
  if (query.get('watch') === 'true' || query.get('watch') === '1') return watch(store, k, namespace, query, accept)
  const r = store.list(k.resource, listOptions(namespace, query))
  if (!r.ok) throw new ShoalError(r.reason, r.code, r.message)
  if (wantsTable(accept)) return tableOf(k, r.items, r.resourceVersion, query)
  return { kind: `${k.kind}List`, apiVersion: k.apiVersion, metadata: { resourceVersion: r.resourceVersion }, items: r.items.map(o => ({ ...o, apiVersion: k.apiVersion, kind: k.kind })) }
}

function get (store: ObjectStore, k: KindInfo, namespace: string, name: string, accept = '', query = new URLSearchParams()): unknown {
  const o = store.get(k.resource, namespace, name)
  if (o === undefined) throw notFound(k, name)
  return wantsTable(accept) ? tableOf(k, [o], o.metadata.resourceVersion, query) : o
}

/** The store's refusal as kubectl prints it: `deployments.apps "web" already exists`. */
function failed (k: KindInfo, name: string, r: Exclude<Result, { ok: true }>): ShoalError {
  if (r.reason === 'AlreadyExists') return new ShoalError('AlreadyExists', 409, `${qualifiedResource(k)} "${name}" already exists`)
  if (r.reason === 'NotFound') return notFound(k, name)
  return new ShoalError(r.reason, r.code, r.message)
}

async function commit (write: Write, k: KindInfo, name: string, cmd: Command): Promise<KubeObject> {
  const r = await write(cmd) as Result
  if (!r.ok) throw failed(k, name, r)
  return { ...r.object, apiVersion: k.apiVersion, kind: k.kind }
}

/**
 * What `admit` needs of a request beyond its body: the query, for
 * `fieldValidation`; which options Kubernetes names in a 422 about it; for a
 * write of the object (not its status) the stored object, whose immutable
 * fields the body may not change; and where to put `Warning`s.
 */
interface AdmitOptions {
  readonly query?: URLSearchParams
  readonly options?: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'
  readonly current?: KubeObject | undefined
  readonly warnings?: string[]
}

/**
 * Decode, drop unknown fields, default and validate a body for `k` in
 * `namespace`; throws the Status to answer. Unknown fields go as in Kubernetes
 * (core fields.ts): dropped, with a warning under `fieldValidation=Warn` (the
 * default) or silently under Ignore; `Strict` fails the request with a 400.
 * Protobuf bodies are not checked strictly, as in Kubernetes, whose protobuf
 * decoder skips unknown fields.
 */
function admit (k: KindInfo, namespace: string, body: unknown, nameFromPath?: string, opts: AdmitOptions = {}): ObjectInput {
  const fieldValidation = opts.query?.get('fieldValidation') ?? null
  const directive = fieldValidationDirective(fieldValidation)
  if (directive === undefined) {
    const status = statusForBadFieldValidation(opts.options ?? (nameFromPath === undefined ? 'CreateOptions' : 'UpdateOptions'), fieldValidation ?? '')
    throw Object.assign(new ShoalError('Invalid', 422, status.message), { status })
  }
  let obj = body
  if (obj instanceof Uint8Array) {
    const decoded = decodeK8sProtobuf(obj)
    if (!decoded.ok) throw new ShoalError('BadRequest', 400, `cannot decode the protobuf body: ${decoded.message}`)
    obj = decoded.object
  }
  const known = dropUnknownFields(k.resource, obj)
  if (known.unknown.length > 0 && directive === 'Strict' && !(body instanceof Uint8Array)) {
    throw new ShoalError('BadRequest', 400, strictDecodingMessage(k.resource, obj, known.unknown))
  }
  if (directive === 'Warn') opts.warnings?.push(...known.unknown.map(unknownFieldMessage))
  obj = known.object
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ShoalError('BadRequest', 400, 'the request body must be a JSON object')
  const o = obj as { apiVersion?: unknown, kind?: unknown, metadata?: { name?: unknown, namespace?: unknown } }
  const ns = o.metadata?.namespace
  if (k.namespaced && ns !== undefined && ns !== namespace) {
    throw new ShoalError('BadRequest', 400, `the namespace of the provided object does not match the namespace sent on the request`)
  }
  if (nameFromPath !== undefined && o.metadata?.name !== undefined && o.metadata.name !== nameFromPath) {
    throw new ShoalError('BadRequest', 400, `the name of the object (${String(o.metadata.name)}) does not match the name on the URL (${nameFromPath})`)
  }
  const shaped = { apiVersion: k.apiVersion, kind: k.kind, ...obj, metadata: { ...(o.metadata ?? {}), ...(nameFromPath !== undefined ? { name: nameFromPath } : {}), ...(k.namespaced ? { namespace } : {}) } }
  const defaulted = defaultObject(k.resource, shaped)
  const errors = validateObject(k.resource, defaulted)
  if (opts.current !== undefined) errors.push(...validateObjectUpdate(k.resource, defaulted, opts.current))
  if (errors.length > 0) {
    const name = typeof defaulted.metadata.name === 'string' ? defaulted.metadata.name : ''
    throw Object.assign(new ShoalError('Invalid', 422, statusForInvalid(k.kind, name, errors).message), { status: statusForInvalid(k.kind, name, errors) })
  }
  return defaulted as ObjectInput
}

/** Which part of an object a write is for: the object (spec, metadata) or its status subresource. */
type Part = 'object' | 'status'

/** A 200/201 with one `Warning` header per warning, which kubectl prints as `Warning: …`. */
function replyWith (code: number, body: KubeObject, warnings: readonly string[]): Reply {
  return new Reply(code, body, warnings.length > 0 ? { warning: warnings.map(warningHeader) } : {})
}

/** The three patch types kubectl sends, by content type. */
function applyPatch (current: KubeObject, body: unknown, contentType: string): { ok: true, value: unknown } | { ok: false, message: string } {
  if (contentType.includes('json-patch+json')) return applyJsonPatch(current, body)
  if (contentType.includes('strategic-merge-patch')) return applyStrategicMergePatch(current, body)
  if (contentType.includes('merge-patch+json')) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'a merge patch must be a JSON object' }
    return { ok: true, value: applyMergePatch(current, body) }
  }
  throw new ShoalError('UnsupportedMediaType', 415, `the patch content type ${JSON.stringify(contentType)} is not supported: use application/merge-patch+json, application/strategic-merge-patch+json or application/json-patch+json`)
}

function scopeOf (k: KindInfo, part: Part): { scope?: 'main' | 'status' } {
  if (part === 'status') return { scope: 'status' }
  return k.statusSubresource ? { scope: 'main' } : {}
}

/** Routes for the api server, keyed `METHOD /path/:param`. */
export function kubeRoutes (store: Store, write: Write, podIO: PodIOFor = () => undefined): Record<string, Handler> {
  const routes: Record<string, Handler> = {
    'GET /version': () => ({ major: '1', minor: '32', gitVersion: `v1.32.0-shoal-${VERSION}`, gitCommit: '', gitTreeState: 'clean', buildDate: '', goVersion: '', compiler: 'shoal', platform: `${process.platform}/${process.arch}` }),
    'GET /api': () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }),
    'GET /apis': () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: GROUPS.filter(g => g !== '').map(g => ({ name: g, versions: [{ groupVersion: `${g}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' } }))
    }),
    'GET /api/v1': () => resourceList(''),
    'GET /openapi/v3': () => ({
      paths: Object.fromEntries(GROUPS.map(g => {
        const key = g === '' ? 'api/v1' : `apis/${g}/v1`
        return [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${VERSION}` }]
      }))
    }),
    'GET /openapi/v3/api/v1': () => openapiFor(''),
    'GET /openapi/v2': (_p, _q, _b, _ct, accept) => openapiV2(accept)
  }
  /** A create starts the status afresh, as Kubernetes does: it is the status subresource's to fill in (a new pod is Pending). */
  const create = async (k: KindInfo, namespace: string, body: unknown, query?: URLSearchParams): Promise<Reply> => {
    const warnings: string[] = []
    const admitted = admit(k, namespace, body, undefined, { query, options: 'CreateOptions', warnings })
    const { status: _ignored, ...rest } = admitted
    const obj = !k.statusSubresource ? admitted : k.resource === 'pods' ? { ...rest, status: { phase: 'Pending' } } : rest
    return replyWith(201, await commit(write, k, obj.metadata.name, { op: 'create', resource: k.resource, object: obj, uid: '', now: '' }), warnings)
  }
  /**
   * PUT of an object, or of its status: for a kind with a status subresource
   * the object's PUT keeps the stored status and `/status` changes only it,
   * as in Kubernetes; the store applies the split in the log, race-free.
   */
  const update = async (k: KindInfo, namespace: string, name: string, body: unknown, part: Part = 'object', query?: URLSearchParams): Promise<Reply> => {
    const warnings: string[] = []
    const obj = admit(k, namespace, body, name, { query, options: 'UpdateOptions', warnings, current: part === 'object' ? store().get(k.resource, namespace, name) : undefined })
    return replyWith(200, await commit(write, k, name, { op: 'update', resource: k.resource, object: obj, now: '', ...scopeOf(k, part) }), warnings)
  }
  /** DELETE with Kubernetes' propagationPolicy (delete.ts): Background (default), Foreground, Orphan. */
  const remove = async (k: KindInfo, namespace: string, name: string, body?: unknown, query = new URLSearchParams()): Promise<KubeObject> => {
    const { policy, preconditions } = deleteOptionsOf(body, query)
    const target = store().get(k.resource, namespace, name)
    if (target === undefined || policy === 'Background') {
      return await commit(write, k, name, { op: 'delete', resource: k.resource, namespace, name, ...(Object.keys(preconditions).length > 0 ? { precondition: preconditions } : {}) })
    }
    const cmd = deletionCommand(store(), k, target, policy, preconditions)
    if (cmd.op !== 'batch') return await commit(write, k, name, cmd)
    const r = await write(cmd) as BatchResult
    const own = r.results[r.results.length - 1]
    if (own !== undefined && own.ok) return { ...own.object, apiVersion: k.apiVersion, kind: k.kind }
    const cause = r.results.find(x => !x.ok && x.aborted !== true)
    if (cause !== undefined && !cause.ok) throw failed(k, name, cause.reason === 'NotFound' || cause.reason === 'Conflict' ? { ...cause, reason: 'Conflict', code: 409, message: `Operation cannot be fulfilled on ${qualifiedResource(k)} "${name}": its dependents changed while it was being deleted; try again` } : cause)
    throw new ShoalError('InternalError', 500, `deleting ${qualifiedResource(k)} "${name}" failed`)
  }
  /**
   * Every patch is read-modify-write: apply it to the local replica's object,
   * admit the result as an update (so a patch is validated like a PUT), and
   * write it with the read resourceVersion as a precondition, retrying on a
   * Conflict. A patch that names a resourceVersion itself must match it.
   */
  const patch = async (k: KindInfo, namespace: string, name: string, body: unknown, contentType: string, part: Part = 'object', query?: URLSearchParams): Promise<Reply> => {
    const scope = scopeOf(k, part)
    for (let attempt = 1; ; attempt++) {
      const current = store().get(k.resource, namespace, name)
      if (current === undefined) throw notFound(k, name)
      const patched = applyPatch(current, body, contentType)
      if (!patched.ok) throw new ShoalError('UnprocessableEntity', 422, patched.message)
      const asked = (patched.value as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion
      if (asked !== undefined && asked !== current.metadata.resourceVersion) {
        throw new ShoalError('Conflict', 409, `Operation cannot be fulfilled on ${qualifiedResource(k)} "${name}": the object has been modified; please apply your changes to the latest version and try again`)
      }
      const warnings: string[] = []
      const obj = admit(k, namespace, patched.value, name, { query, options: 'PatchOptions', warnings, current: part === 'object' ? current : undefined })
      const r = await write({ op: 'update', resource: k.resource, object: obj, now: '', precondition: { resourceVersion: current.metadata.resourceVersion }, ...scope }) as Result
      if (r.ok) return replyWith(200, { ...r.object, apiVersion: k.apiVersion, kind: k.kind }, warnings)
      if (r.reason !== 'Conflict' || attempt >= PATCH_ATTEMPTS) throw failed(k, name, r)
    }
  }

  for (const g of GROUPS) {
    const prefix = g === '' ? '/api/v1' : `/apis/${g}/v1`
    const nsItem = `${prefix}/namespaces/:namespace/:resource/:name`
    const clusterItem = `${prefix}/:resource/:name`
    routes[`POST ${prefix}/namespaces/:namespace/:resource`] = async (p, q, body) => await create(kindOr404(g, p.resource!), p.namespace!, body, q)
    routes[`POST ${prefix}/:resource`] = async (p, q, body) => await create(clusterKind(g, p.resource!), '', body, q)
    routes[`PUT ${nsItem}`] = async (p, q, body) => await update(kindOr404(g, p.resource!), p.namespace!, p.name!, body, 'object', q)
    routes[`PUT ${clusterItem}`] = async (p, q, body) => await update(clusterKind(g, p.resource!), '', p.name!, body, 'object', q)
    routes[`DELETE ${nsItem}`] = async (p, q, body) => await remove(kindOr404(g, p.resource!), p.namespace!, p.name!, body, q)
    routes[`DELETE ${clusterItem}`] = async (p, q, body) => await remove(clusterKind(g, p.resource!), '', p.name!, body, q)
    routes[`PATCH ${nsItem}`] = async (p, q, body, ct) => await patch(kindOr404(g, p.resource!), p.namespace!, p.name!, body, ct, 'object', q)
    routes[`PATCH ${clusterItem}`] = async (p, q, body, ct) => await patch(clusterKind(g, p.resource!), '', p.name!, body, ct, 'object', q)
    // The status subresource, for the kinds that have one.
    const withStatus = (k: KindInfo): KindInfo => {
      if (!k.statusSubresource) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${k.resource}/status)`)
      return k
    }
    routes[`GET ${nsItem}/status`] = (p, q, _b, _ct, accept) => get(store(), withStatus(kindOr404(g, p.resource!)), p.namespace!, p.name!, accept, q)
    routes[`GET ${clusterItem}/status`] = (p, q, _b, _ct, accept) => get(store(), withStatus(clusterKind(g, p.resource!)), '', p.name!, accept, q)
    routes[`PUT ${nsItem}/status`] = async (p, q, body) => await update(withStatus(kindOr404(g, p.resource!)), p.namespace!, p.name!, body, 'status', q)
    routes[`PUT ${clusterItem}/status`] = async (p, q, body) => await update(withStatus(clusterKind(g, p.resource!)), '', p.name!, body, 'status', q)
    routes[`PATCH ${nsItem}/status`] = async (p, q, body, ct) => await patch(withStatus(kindOr404(g, p.resource!)), p.namespace!, p.name!, body, ct, 'status', q)
    routes[`PATCH ${clusterItem}/status`] = async (p, q, body, ct) => await patch(withStatus(clusterKind(g, p.resource!)), '', p.name!, body, ct, 'status', q)
    if (g === '') {
      routes[`GET ${prefix}/namespaces/:namespace/pods/:name/log`] = (p, q) => {
        const opts = logOptions(q)
        return streamLogs(podTarget(store(), podIO, p.namespace!, p.name!), p.namespace!, p.name!, opts)
      }
      routes[`POST ${prefix}/namespaces/:namespace/pods/:name/exec`] = rawBody((p, q, body) => {
        const command = q.getAll('command')
        if (command.length === 0) throw new ShoalError('BadRequest', 400, 'you must specify at least one command for the container')
        const container = q.get('container') ?? ''
        const io = podTarget(store(), podIO, p.namespace!, p.name!)
        const opts = { ...(container !== '' ? { container } : {}), command, tty: queryFlag(q, 'tty') }
        return streamExec(io, body as IncomingMessage, p.namespace!, p.name!, opts, queryFlag(q, 'stdin'))
      })
      // kubectl's exec (SPDY or WebSocket upgrades) is not spoken; say so once the pod is known to be somewhere.
      routes[`GET ${prefix}/namespaces/:namespace/pods/:name/exec`] = p => {
        podTarget(store(), podIO, p.namespace!, p.name!)
        throw new ShoalError('BadRequest', 400, 'exec speaks Shoal\'s protocol over POST (shoal exec); kubectl\'s streaming exec is not supported')
      }
    }
    if (g === 'apps') {
      const scalePath = `${nsItem}/scale`
      routes[`GET ${scalePath}`] = p => scaleOf(get(store(), scalable(p.resource!), p.namespace!, p.name!) as KubeObject)
      const setScale = async (p: Record<string, string>, body: unknown): Promise<unknown> => {
        const replicas = (body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas
        if (typeof replicas !== 'number' || !Number.isSafeInteger(replicas) || replicas < 0) {
          throw new ShoalError('Invalid', 422, `Scale.autoscaling "${p.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`)
        }
        const k = scalable(p.resource!)
        return scaleOf(await commit(write, k, p.name!, { op: 'patch', resource: k.resource, namespace: p.namespace!, name: p.name!, patch: { spec: { replicas } }, now: '' }))
      }
      routes[`PATCH ${scalePath}`] = async (p, _q, body) => await setScale(p, body)
      routes[`PUT ${scalePath}`] = async (p, _q, body) => await setScale(p, body)
    }
    if (g !== '') {
      routes[`GET ${prefix}`] = () => resourceList(g)
      routes[`GET /openapi/v3/apis/${g}/v1`] = () => openapiFor(g)
    }
    routes[`GET ${prefix}/namespaces/:namespace/:resource`] = (p, q, _b, _ct, accept) => {
      const k = kindOr404(g, p.resource!)
      return list(store(), k, k.namespaced ? p.namespace! : undefined, q, accept)
    }
    routes[`GET ${prefix}/namespaces/:namespace/:resource/:name`] = (p, q, _b, _ct, accept) => {
      const k = kindOr404(g, p.resource!)
      return get(store(), k, k.namespaced ? p.namespace! : '', p.name!, accept, q)
    }
    routes[`GET ${prefix}/:resource`] = (p, q, _b, _ct, accept) => list(store(), kindOr404(g, p.resource!), undefined, q, accept)
    routes[`GET ${prefix}/:resource/:name`] = (p, q, _b, _ct, accept) => {
      const k = kindOr404(g, p.resource!)
      if (k.namespaced) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${p.resource}/${p.name})`)
      return get(store(), k, '', p.name!, accept, q)
    }
  }
  return routes
}
