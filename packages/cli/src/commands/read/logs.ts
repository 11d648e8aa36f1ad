import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, describeEndpoint, type Target } from '../../client.ts'
import { connect, kindAndName, kindOf, resourcePath, type ConnectionFlags } from '../../kube.ts'
import { getJson, openStream, withQuery } from '../../api.ts'
import { meta, nameOf, rec, recs, selectorQuery, sortedEntries, str, type Obj } from './obj.ts'
import { kindPrefix } from './resources.ts'

/**
 * `shoal logs POD [-c C] [-f] [--tail N] [--previous]`, as kubectl logs:
 * the pod is read first (so a missing one is NotFound), a pod of several
 * containers defaults to its first (saying so on stderr), and
 * `deploy/web` / `rs/x` / `svc/x` pick one of their pods. The log streams
 * to stdout as it comes; with -f until the server ends it or the user stops.
 */

export interface LogsFlags extends ConnectionFlags {
  follow?: unknown
  container?: unknown
  tail?: unknown
  previous?: unknown
  timestamps?: unknown
}

/** kubectl's annotation naming the container `logs` and `exec` default to. */
const DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container'

export async function runLogs (args: readonly string[], flags: LogsFlags): Promise<void> {
  const [first, second, ...extra] = args
  if (first === undefined) throw new CliError('a pod is required: shoal logs POD [-c CONTAINER] (or TYPE/NAME)')
  if (extra.length > 0) throw new CliError(`too many arguments: shoal logs POD [CONTAINER], got ${args.join(' ')}`)
  const tail = tailLines(flags.tail)
  const target = connect(flags)
  const namespace = target.namespace
  const pod = first.includes('/') ? await podOf(target, namespace, kindAndName(first, undefined)) : await getJson<Obj>(target, resourcePath(kindOf('pods'), namespace, first))
  const containers = recs(rec(pod['spec'])['containers']).map(c => str(c['name']))
  let container = flags.container !== undefined && flags.container !== true ? String(flags.container) : second
  if (container === undefined && containers.length > 1) {
    const preferred = str(rec(meta(pod)['annotations'])[DEFAULT_CONTAINER])
    container = containers.includes(preferred) ? preferred : containers[0]
    if (!containers.includes(preferred)) process.stderr.write(`Defaulted container "${container}" out of: ${containers.join(', ')}\n`)
  }
  container ??= containers[0]
  const path = withQuery(resourcePath(kindOf('pods'), namespace, nameOf(pod), 'log'), {
    container,
    follow: flags.follow === true ? 'true' : undefined,
    tailLines: tail,
    previous: flags.previous === true ? 'true' : undefined,
    timestamps: flags.timestamps === true ? 'true' : undefined
  })
  const res = await openStream(target, path, 'text/plain, */*')
  try {
    for await (const chunk of res) process.stdout.write(chunk as Buffer)
  } catch (err) {
    throw new CliError(`lost the log stream from ${describeEndpoint(target.endpoint)}: ${(err as Error).message}`)
  }
}

/** `--tail N`: lines from the end; -1 (kubectl's default) for all. */
function tailLines (v: unknown): string | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < -1) throw new CliError(`--tail ${String(v)}: must be a whole number of lines (or -1 for all)`)
  return n === -1 ? undefined : String(n)
}

/** The pod a `TYPE/NAME` stands for: the pod itself, or the first of a workload's or service's pods. */
async function podOf (target: Target, namespace: string, { kind, name }: { kind: KindInfo, name: string }): Promise<Obj> {
  if (kind.resource === 'pods') return await getJson<Obj>(target, resourcePath(kind, namespace, name))
  if (!['deployments', 'replicasets', 'services'].includes(kind.resource)) throw new CliError(`cannot get the logs of a ${kind.kind}: only pods, deployments, replicasets and services have pods`)
  const owner = await getJson<Obj>(target, resourcePath(kind, namespace, name))
  const spec = rec(owner['spec'])
  const selector = kind.resource === 'services' ? sortedEntries(spec['selector']).map(([k, v]) => `${k}=${v}`).join(',') : selectorQuery(spec['selector'])
  if (selector === '') throw new CliError(`${kindPrefix(kind)}/${name} has no selector, so no pods`)
  const pods = recs((await getJson<{ items?: unknown }>(target, withQuery(resourcePath(kindOf('pods'), namespace), { labelSelector: selector }))).items)
  const running = (p: Obj): number => str(rec(p['status'])['phase']) === 'Running' ? 0 : 1
  const sorted = [...pods].sort((a, b) => running(a) - running(b) || (nameOf(a) < nameOf(b) ? -1 : 1))
  const pod = sorted[0]
  if (pod === undefined) throw new CliError(`no pods found for ${kindPrefix(kind)}/${name}`)
  if (sorted.length > 1) process.stderr.write(`Found ${sorted.length} pods, using pod/${nameOf(pod)}\n`)
  return pod
}
