import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { connect, kindOf, resourcePath, type ConnectionFlags } from '../../kube.ts'
import { getJson, isNotFound, reportErrors, withQuery } from '../../api.ts'
import { describeDeployment, describeReplicaSet } from './describe-apps.ts'
import { describeConfigMap, describeEndpoints, describeGeneric, describeNamespace, describeService } from './describe-core.ts'
import { describeNode } from './describe-node.ts'
import { describePod } from './describe-pod.ts'
import { DescribeWriter } from './describe-writer.ts'
import { fetchObjects, optionText, selectionPath, type Scope } from './get.ts'
import { meta, nameOf, namespaceOf, rec, recs, selectorQuery, str, type Obj } from './obj.ts'
import { typed } from './output.ts'
import { parseRequest, type Selection } from './resources.ts'

/**
 * `shoal describe KIND [NAME…]`: kubectl's human-readable report of each
 * object, ending with the events about it. Without a name every object of the
 * kind (matching -l) is described; a name that matches nothing exactly
 * describes the objects whose names start with it, as kubectl does.
 */

export interface DescribeFlags extends ConnectionFlags {
  selector?: unknown
}

export async function runDescribe (args: readonly string[], flags: DescribeFlags): Promise<void> {
  const target = connect(flags)
  const allNamespaces = flags.allNamespaces === true
  const request = parseRequest('describe', args)
  const scope: Scope = { target, namespace: allNamespaces ? undefined : target.namespace, labelSelector: optionText(flags.selector), fieldSelector: undefined }
  const byName = request.selections.some(s => s.names.length > 0)
  if (byName && scope.labelSelector !== undefined) throw new CliError('name cannot be provided when a selector is specified')
  if (byName && allNamespaces) throw new CliError('a resource cannot be retrieved by name across all namespaces')
  const now = Date.now()
  const errors: unknown[] = []
  let out = ''
  let described = 0
  for (const s of request.selections) {
    const objects = s.names.length === 0 ? (await fetchObjects(scope, s, errors)).map(object => ({ object, prefixed: false })) : await byNameOrPrefix(scope, s, errors)
    for (const { object, prefixed } of objects) {
      const text = await describeObject(scope, s.kind, object, now)
      // kubectl separates reports by two blank lines, but ends each report found by a name prefix with one.
      out += prefixed ? text + '\n' : (described > 0 ? '\n\n' : '') + text
      described++
    }
  }
  process.stdout.write(out)
  // kubectl names the namespace here even for nodes.
  if (described === 0 && errors.length === 0) process.stderr.write(scope.namespace === undefined ? 'No resources found\n' : `No resources found in ${scope.namespace} namespace.\n`)
  reportErrors(errors)
}

/** Each name, or when it is not an object's name, the objects whose names start with it. */
async function byNameOrPrefix (scope: Scope, s: Selection, errors: unknown[]): Promise<Array<{ object: Obj, prefixed: boolean }>> {
  const found: Array<{ object: Obj, prefixed: boolean }> = []
  for (const name of s.names) {
    try {
      found.push({ object: await getJson<Obj>(scope.target, selectionPath(scope, s.kind, name)), prefixed: false })
    } catch (err) {
      if (!isNotFound(err)) throw err
      const all = recs((await getJson<{ items?: unknown }>(scope.target, resourcePath(s.kind, scope.namespace))).items)
      const matching = all.filter(o => nameOf(o).startsWith(name))
      if (matching.length === 0) errors.push(err)
      found.push(...matching.map(object => ({ object, prefixed: true })))
    }
  }
  return found
}

/** The events whose involvedObject is `o` (an event without a uid or kind is taken to be about it too). */
async function eventsAbout (scope: Scope, k: KindInfo, o: Obj): Promise<Obj[]> {
  const ns = namespaceOf(o)
  const selector = [`involvedObject.name=${nameOf(o)}`, ...(ns !== '' ? [`involvedObject.namespace=${ns}`] : [])].join(',')
  const path = withQuery(resourcePath(kindOf('events'), ns !== '' ? ns : undefined), { fieldSelector: selector })
  const uid = str(meta(o)['uid'])
  return recs((await getJson<{ items?: unknown }>(scope.target, path)).items).filter(e => {
    const about = rec(e['involvedObject'])
    const u = str(about['uid'])
    const kind = str(about['kind'])
    return (u === '' || u === uid || u === nameOf(o)) && (kind === '' || kind === k.kind)
  })
}

async function list (scope: Scope, resource: string, namespace: string | undefined, query: Readonly<Record<string, string | undefined>>): Promise<Obj[]> {
  return recs((await getJson<{ items?: unknown }>(scope.target, withQuery(resourcePath(kindOf(resource), namespace), query))).items)
}

/** One object's report, with what its printer needs besides events: a Deployment's ReplicaSets, a node's pods… */
async function describeObject (scope: Scope, k: KindInfo, o: Obj, now: number): Promise<string> {
  const w = new DescribeWriter(now)
  const events = await eventsAbout(scope, k, o)
  const ns = namespaceOf(o)
  const spec = rec(o['spec'])
  switch (k.resource) {
    case 'pods':
      describePod(w, o, events)
      break
    case 'deployments':
      describeDeployment(w, o, await list(scope, 'replicasets', ns, { labelSelector: selectorQuery(spec['selector']) }), events)
      break
    case 'replicasets':
      describeReplicaSet(w, o, await list(scope, 'pods', ns, { labelSelector: selectorQuery(spec['selector']) }), events)
      break
    case 'services': {
      let endpoints: Obj | undefined
      try {
        endpoints = await getJson<Obj>(scope.target, resourcePath(kindOf('endpoints'), ns, nameOf(o)))
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      describeService(w, o, endpoints, events)
      break
    }
    case 'nodes':
      describeNode(w, o, await list(scope, 'pods', undefined, { fieldSelector: `spec.nodeName=${nameOf(o)},status.phase!=Succeeded,status.phase!=Failed` }), events)
      break
    case 'namespaces':
      describeNamespace(w, o, events)
      break
    case 'configmaps':
      describeConfigMap(w, o, events)
      break
    case 'endpoints':
      describeEndpoints(w, o, events)
      break
    default:
      describeGeneric(w, typed(k, o), events)
  }
  return w.toString()
}
