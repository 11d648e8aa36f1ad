import type { CAC } from 'cac'
import { infoForKind, type KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { connect, kindAndName, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { portFlag, targetPortFlag, textFlag } from './flags.ts'
import { request } from '../../api.ts'
import { objectRef } from './refs.ts'

/**
 * `shoal expose deployment NAME --port=P`: a Service selecting the pods of a
 * Deployment (or ReplicaSet, Pod, Service), built as kubectl builds it: the
 * selector from the object's, its labels, and the ports given or, without
 * --port, those its containers declare.
 */

type Rec = Record<string, unknown>

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const

export interface ExposeOptions {
  readonly name?: string
  readonly type?: string
  readonly port?: number
  readonly targetPort?: number | string
  readonly protocol?: string
}

/** The pods an object stands for, as a Service selector; throws when a selector cannot say it. */
function selectorOf (k: KindInfo, obj: Rec): Record<string, string> {
  const spec = (obj.spec ?? {}) as Rec
  let selector: unknown
  if (k.kind === 'Deployment' || k.kind === 'ReplicaSet') {
    const s = (spec.selector ?? {}) as { matchLabels?: unknown, matchExpressions?: unknown[] }
    if ((s.matchExpressions?.length ?? 0) > 0) throw new CliError(`couldn't retrieve selectors via --selector flag or introspection: the ${k.kind} selects with matchExpressions, which a Service selector cannot express`)
    selector = s.matchLabels
  } else if (k.kind === 'Service') selector = spec.selector
  else if (k.kind === 'Pod') selector = (obj.metadata as Rec | undefined)?.labels
  else throw new CliError(`cannot expose a ${k.kind}`)
  if (typeof selector !== 'object' || selector === null || Object.keys(selector).length === 0) throw new CliError(`couldn't retrieve selectors via --selector flag or introspection: the ${k.kind} has none`)
  return selector as Record<string, string>
}

/** The ports an object declares: its containers' (or, for a Service, its own). */
function portsOf (k: KindInfo, obj: Rec): Array<{ port: number, protocol?: string }> {
  const spec = (obj.spec ?? {}) as Rec
  if (k.kind === 'Service') return ((spec.ports ?? []) as Array<{ port: number, protocol?: string }>).map(p => ({ port: p.port, ...(p.protocol !== undefined ? { protocol: p.protocol } : {}) }))
  const podSpec = (k.kind === 'Pod' ? spec : ((spec.template as Rec | undefined)?.spec ?? {})) as { containers?: Array<{ ports?: Array<{ containerPort: number, protocol?: string }> }> }
  return (podSpec.containers ?? []).flatMap(c => c.ports ?? []).map(p => ({ port: p.containerPort, ...(p.protocol !== undefined ? { protocol: p.protocol } : {}) }))
}

/** The Service `expose` creates for `obj`. */
export function serviceFor (k: KindInfo, obj: Rec, opts: ExposeOptions): Rec {
  const meta = (obj.metadata ?? {}) as { name?: string, labels?: Record<string, string> }
  const selector = selectorOf(k, obj)
  const declared = opts.port !== undefined ? [{ port: opts.port }] : portsOf(k, obj)
  if (declared.length === 0) throw new CliError(`couldn't find port via --port flag or introspection: the ${k.kind} declares no ports; pass --port`)
  const ports = declared.map((p, i) => ({
    ...(declared.length > 1 ? { name: `port-${i + 1}` } : {}),
    port: p.port,
    protocol: opts.protocol ?? ('protocol' in p && p.protocol !== undefined ? p.protocol : 'TCP'),
    targetPort: opts.targetPort ?? p.port
  }))
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: opts.name ?? meta.name, ...(meta.labels !== undefined ? { labels: meta.labels } : {}) },
    spec: { ports, selector, ...(opts.type !== undefined ? { type: opts.type } : {}) }
  }
}

interface ExposeFlags extends ConnectionFlags {
  type?: unknown
  port?: unknown
  targetPort?: unknown
  name?: unknown
  protocol?: unknown
}

/** `--type=nodeport` is taken as NodePort; an unknown type is refused naming the flag. */
function oneOf (value: string | undefined, allowed: readonly string[], flag: string): string | undefined {
  if (value === undefined) return undefined
  const found = allowed.find(a => a.toLowerCase() === value.toLowerCase())
  if (found === undefined) throw new CliError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: must be one of ${allowed.join(', ')}`)
  return found
}

async function expose (first: string | undefined, second: string | undefined, flags: ExposeFlags): Promise<void> {
  const type = oneOf(textFlag(flags.type, '--type'), SERVICE_TYPES, '--type')
  const protocol = oneOf(textFlag(flags.protocol, '--protocol'), PROTOCOLS, '--protocol')
  const port = portFlag(flags.port, '--port')
  const targetPort = targetPortFlag(flags.targetPort, '--target-port')
  const name = textFlag(flags.name, '--name')
  if (first === undefined) throw new CliError('what to expose is required: expose deployment NAME --port=PORT (or deployment/NAME)')
  const { kind, name: objectName } = kindAndName(first, second)
  if (!['Deployment', 'ReplicaSet', 'Pod', 'Service'].includes(kind.kind)) throw new CliError(`cannot expose a ${kind.kind}`)
  const target = connect(flags)
  const obj = await request<Rec>(target, 'GET', resourcePath(kind, target.namespace, objectName))
  const service = serviceFor(kind, obj, {
    ...(name !== undefined ? { name } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(targetPort !== undefined ? { targetPort } : {}),
    ...(protocol !== undefined ? { protocol } : {})
  })
  const svc = infoForKind('Service')!
  await request(target, 'POST', `${resourcePath(svc, target.namespace)}?fieldManager=kubectl-expose`, { body: service })
  process.stdout.write(`${objectRef(svc, String((service.metadata as Rec).name))} exposed\n`)
}

export function registerExpose (cli: CAC): void {
  withConnectionFlags(cli.command('expose [kind] [name]', 'Create a Service for the pods of a Deployment, ReplicaSet, Pod or Service'))
    .usage('expose deployment NAME [--port=PORT] [--target-port=PORT] [--type=ClusterIP|NodePort|LoadBalancer] [--name=NAME]\n\n  Creates a Service selecting the pods of a Deployment (or ReplicaSet, Pod, Service).')
    .option('--port <port>', 'the port the Service serves on (default: the ports the containers declare)')
    .option('--target-port <port>', 'the container port (number or name) traffic goes to (default: --port)')
    .option('--type <type>', 'ClusterIP, NodePort or LoadBalancer (default ClusterIP)')
    .option('--name <name>', 'the Service\'s name (default: the exposed object\'s)')
    .option('--protocol <protocol>', 'TCP, UDP or SCTP (default TCP)')
    .example('shoal expose deployment web --type=LoadBalancer --port=8080 --target-port=80')
    .example('shoal expose deploy/web --port=80 --name=web-internal')
    .action(async (first: string | undefined, second: string | undefined, flags: ExposeFlags) => {
      await expose(first, second, flags)
    })
}
