import type { CAC } from 'cac'
import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { connect, kindAndName, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { request } from '../../api.ts'
import { objectRef } from './refs.ts'

/**
 * `shoal set image deployment/NAME CONTAINER=IMAGE...`: a strategic merge
 * patch naming only the containers that change, so their other fields and
 * the other containers stay as they are. `*=IMAGE` sets every container.
 */

type Rec = Record<string, unknown>
type Container = { name: string, image?: string }

/** `nginx=nginx:1.27` pairs; every one must have a container name and an image. */
export function parseImagePairs (pairs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of pairs) {
    const eq = p.indexOf('=')
    const name = p.slice(0, eq)
    const image = p.slice(eq + 1)
    if (eq <= 0 || image === '') throw new CliError(`${JSON.stringify(p)} is not CONTAINER=IMAGE`)
    out.set(name, image)
  }
  return out
}

/** The pod spec of a kind that has one: a Pod's own, a Deployment's or ReplicaSet's template's. */
function podSpecOf (k: KindInfo, obj: Rec): Rec {
  const spec = (obj.spec ?? {}) as Rec
  return (k.kind === 'Pod' ? spec : ((spec.template as Rec | undefined)?.spec ?? {})) as Rec
}

/** Wrap a pod spec patch at the place the kind keeps its pod spec. */
function atPodSpec (k: KindInfo, podSpecPatch: Rec): Rec {
  return k.kind === 'Pod' ? { spec: podSpecPatch } : { spec: { template: { spec: podSpecPatch } } }
}

/**
 * The patch setting the images; undefined when every image is already the
 * one asked for. A container name that is in neither containers nor
 * initContainers is an error, before anything is sent.
 */
export function imagePatch (k: KindInfo, obj: Rec, images: ReadonlyMap<string, string>): Rec | undefined {
  const podSpec = podSpecOf(k, obj)
  const lists = ['containers', 'initContainers'] as const
  const all = lists.flatMap(l => (Array.isArray(podSpec[l]) ? podSpec[l] as Container[] : []))
  for (const name of images.keys()) {
    if (name !== '*' && !all.some(c => c.name === name)) throw new CliError(`unable to find container named ${JSON.stringify(name)}`)
  }
  const patch: Rec = {}
  for (const l of lists) {
    const changed = (Array.isArray(podSpec[l]) ? podSpec[l] as Container[] : [])
      .map(c => ({ name: c.name, old: c.image, image: images.get(c.name) ?? images.get('*') }))
      .filter((c): c is { name: string, old: string | undefined, image: string } => c.image !== undefined && c.image !== c.old)
      .map(c => ({ name: c.name, image: c.image }))
    if (changed.length > 0) patch[l] = changed
  }
  return Object.keys(patch).length === 0 ? undefined : atPodSpec(k, patch)
}

async function setImage (args: readonly string[], flags: ConnectionFlags): Promise<void> {
  const [sub, ...rest] = args
  if (sub !== 'image') throw new CliError(sub === undefined ? 'what to set is required: set image KIND/NAME CONTAINER=IMAGE...' : `set ${sub} is not supported; use set image KIND/NAME CONTAINER=IMAGE...`)
  const resource = rest.filter(a => !a.includes('='))
  const images = parseImagePairs(rest.filter(a => a.includes('=')))
  if (resource.length === 0 || resource.length > 2) throw new CliError('one object is required: set image deployment/NAME CONTAINER=IMAGE... (or deployment NAME CONTAINER=IMAGE...)')
  if (images.size === 0) throw new CliError('at least one image update is required: CONTAINER=IMAGE (or *=IMAGE for every container)')
  const { kind, name } = kindAndName(resource[0]!, resource[1])
  if (!['Deployment', 'ReplicaSet', 'Pod'].includes(kind.kind)) throw new CliError(`cannot set images of a ${kind.kind}: it has no pod template`)
  const target = connect(flags)
  const path = resourcePath(kind, target.namespace, name)
  const obj = await request<Rec>(target, 'GET', path)
  const patch = imagePatch(kind, obj, images)
  // Nothing to change: kubectl sends nothing and prints nothing.
  if (patch === undefined) return
  await request(target, 'PATCH', `${path}?fieldManager=kubectl-set`, { body: patch, contentType: 'application/strategic-merge-patch+json' })
  process.stdout.write(`${objectRef(kind, name)} image updated\n`)
}

export function registerSet (cli: CAC): void {
  withConnectionFlags(cli.command('set [...args]', 'Change a Deployment\'s (ReplicaSet\'s, Pod\'s) container images: set image KIND/NAME CONTAINER=IMAGE...'))
    .usage('set image deployment/NAME CONTAINER=IMAGE... (or *=IMAGE for every container)')
    .example('shoal set image deployment/web nginx=nginx:1.27')
    .example('shoal set image deployment web nginx=nginx:1.27 sidecar=busybox:1.36')
    .example('shoal set image deploy/web \'*=nginx:1.27\'')
    .action(async (args: string[], flags: ConnectionFlags) => {
      await setImage(args, flags)
    })
}
