import { KINDS, kindForResource, qualifiedResource, type KindInfo } from '@shoal/core/api/index.ts'
import { ShoalError, type ObjectStore } from '@shoal/core'
import { VERSION } from '../version.ts'

/**
 * The read side of the Kubernetes API, as stock kubectl needs it (see
 * shared/docs/kubernetes-api.md): /version, legacy discovery, the OpenAPI v3
 * stub that lets `kubectl apply` leave validation to the server, and GET of
 * lists and objects from the local replica. Writes, Tables, watch and auth
 * come with the rest of the API issue.
 */

type Handler = (params: Record<string, string>, query: URLSearchParams) => unknown
type Store = () => ObjectStore

const GROUPS = [...new Set(KINDS.map(k => k.group))]

function resourceList (group: string): unknown {
  const kinds = KINDS.filter(k => k.group === group)
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? 'v1' : `${group}/v1`,
    resources: kinds.map(k => ({
      name: k.resource,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      shortNames: k.shortNames,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']
    }))
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

function notFound (k: KindInfo, name: string): ShoalError {
  return new ShoalError('NotFound', 404, `${qualifiedResource(k)} "${name}" not found`)
}

function kindOr404 (group: string, resource: string): KindInfo {
  const k = kindForResource(resource)
  if (k === undefined || k.group !== group) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${resource})`)
  return k
}

function list (store: ObjectStore, k: KindInfo, namespace: string | undefined, query: URLSearchParams): unknown {
  const r = store.list(k.resource, {
    ...(namespace !== undefined ? { namespace } : {}),
    ...(query.get('labelSelector') !== null ? { labelSelector: query.get('labelSelector')! } : {}),
    ...(query.get('fieldSelector') !== null ? { fieldSelector: query.get('fieldSelector')! } : {})
  })
  if (!r.ok) throw new ShoalError(r.reason, r.code, r.message)
  return { kind: `${k.kind}List`, apiVersion: k.apiVersion, metadata: { resourceVersion: r.resourceVersion }, items: r.items.map(o => ({ ...o, apiVersion: k.apiVersion, kind: k.kind })) }
}

function get (store: ObjectStore, k: KindInfo, namespace: string, name: string): unknown {
  const o = store.get(k.resource, namespace, name)
  if (o === undefined) throw notFound(k, name)
  return o
}

/** Routes for the api server, keyed `METHOD /path/:param`. */
export function kubeRoutes (store: Store): Record<string, Handler> {
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
    'GET /openapi/v3/api/v1': () => openapiFor('')
  }
  for (const g of GROUPS) {
    const prefix = g === '' ? '/api/v1' : `/apis/${g}/v1`
    if (g !== '') {
      routes[`GET ${prefix}`] = () => resourceList(g)
      routes[`GET /openapi/v3/apis/${g}/v1`] = () => openapiFor(g)
    }
    routes[`GET ${prefix}/namespaces/:namespace/:resource`] = (p, q) => {
      const k = kindOr404(g, p.resource!)
      return list(store(), k, k.namespaced ? p.namespace! : undefined, q)
    }
    routes[`GET ${prefix}/namespaces/:namespace/:resource/:name`] = p => {
      const k = kindOr404(g, p.resource!)
      return get(store(), k, k.namespaced ? p.namespace! : '', p.name!)
    }
    routes[`GET ${prefix}/:resource`] = (p, q) => list(store(), kindOr404(g, p.resource!), undefined, q)
    routes[`GET ${prefix}/:resource/:name`] = p => {
      const k = kindOr404(g, p.resource!)
      if (k.namespaced) throw new ShoalError('NotFound', 404, `the server could not find the requested resource (${p.resource}/${p.name})`)
      return get(store(), k, '', p.name!)
    }
  }
  return routes
}
