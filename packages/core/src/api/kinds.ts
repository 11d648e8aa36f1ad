/**
 * The resource registry: the one table that ties a kind to its plural resource
 * name, its API group/version, its scope and its short names. Discovery, URL
 * routing, defaulting and validation all read it, so kubectl's view of the API
 * (`kubectl get deploy`, `deployments.apps "web"`) and the server's agree.
 */

export interface KindInfo {
  readonly kind: string
  /** The plural resource name used in URLs and in the store (`deployments`). */
  readonly resource: string
  /** The singular resource name discovery advertises (`deployment`). */
  readonly singular: string
  /** '' for the core group. */
  readonly group: string
  readonly version: string
  /** `v1` for the core group, `group/version` otherwise: what objects carry in `apiVersion`. */
  readonly apiVersion: string
  readonly namespaced: boolean
  /** kubectl learns short names only from discovery (`deploy`, `po`, `svc`). */
  readonly shortNames: readonly string[]
  /**
   * Has a `status` subresource: users write spec through the object, and
   * status only through `/status` (what controllers and kubelets report).
   */
  readonly statusSubresource: boolean
}

function info (kind: string, resource: string, group: string, namespaced: boolean, shortNames: readonly string[], statusSubresource = false): KindInfo {
  const version = 'v1'
  return {
    kind,
    resource,
    singular: kind.toLowerCase(),
    group,
    version,
    apiVersion: group === '' ? version : `${group}/${version}`,
    namespaced,
    shortNames,
    statusSubresource
  }
}

export const KINDS: readonly KindInfo[] = [
  info('Namespace', 'namespaces', '', false, ['ns'], true),
  info('Node', 'nodes', '', false, ['no'], true),
  info('Pod', 'pods', '', true, ['po'], true),
  info('Service', 'services', '', true, ['svc'], true),
  info('Endpoints', 'endpoints', '', true, ['ep']),
  info('Event', 'events', '', true, ['ev']),
  info('ConfigMap', 'configmaps', '', true, ['cm']),
  info('ReplicaSet', 'replicasets', 'apps', true, ['rs'], true),
  info('Deployment', 'deployments', 'apps', true, ['deploy'], true)
]

const byResource = new Map(KINDS.map(k => [k.resource, k]))
const byKind = new Map(KINDS.map(k => [k.kind, k]))

/** The kind served under a plural resource name (`deployments`), if any. */
export function kindForResource (resource: string): KindInfo | undefined {
  return byResource.get(resource)
}

/** The registry entry of a kind (`Deployment`), if any. */
export function infoForKind (kind: string): KindInfo | undefined {
  return byKind.get(kind)
}

/**
 * Resolves what a user may type for a resource: the plural, the singular, a
 * short name or the kind, in any case. Lets CLIs accept what kubectl accepts.
 */
export function resolveResource (name: string): KindInfo | undefined {
  const n = name.toLowerCase()
  return KINDS.find(k => k.resource === n || k.singular === n || k.shortNames.includes(n))
}

/** `deployments.apps` / `pods`: how Kubernetes names a resource in NotFound and AlreadyExists messages. */
export function qualifiedResource (k: KindInfo): string {
  return k.group === '' ? k.resource : `${k.resource}.${k.group}`
}

/** `Deployment.apps` / `Pod`: how Kubernetes names a kind in Invalid messages. */
export function qualifiedKind (k: KindInfo): string {
  return k.group === '' ? k.kind : `${k.kind}.${k.group}`
}
