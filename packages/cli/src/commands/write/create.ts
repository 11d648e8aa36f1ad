import type { CAC } from 'cac'
import { infoForKind, type KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { connect, kindOf, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { namespaceFor } from './apply.ts'
import { countFlag, listFlag, portFlag, validateFlag, type FieldValidation } from './flags.ts'
import { checkValid, loadManifests } from './manifests.ts'
import { failureLine, ReportedFailure, request, ServerError } from '../../api.ts'
import { objectRef } from './refs.ts'

/**
 * `shoal create deployment|namespace NAME` builds the object kubectl's
 * generators build; `shoal create -f FILE` creates the objects of manifests
 * (an existing one is an AlreadyExists error, unlike apply).
 */

type Rec = Record<string, unknown>

/**
 * A container name from an image, as kubectl derives it: the last path
 * segment without tag or digest, `_` and `.` turned into `-` (kubectl also
 * appends a random suffix then; a name is kept stable here instead).
 */
export function containerNameOf (image: string): string {
  let name = image.slice(image.lastIndexOf('/') + 1)
  name = name.split('@')[0]!.split(':')[0]!
  return name.replace(/[_.]/g, '-')
}

/** The Deployment `kubectl create deployment NAME --image=… [--replicas] [--port]` sends. */
export function deploymentFor (name: string, images: readonly string[], replicas: number, port: number | undefined): Rec {
  const labels = { app: name }
  const seen = new Map<string, number>()
  const containers: Rec[] = images.map(image => {
    const base = containerNameOf(image)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    return { name: n === 1 ? base : `${base}-${n}`, image }
  })
  if (port !== undefined && containers[0] !== undefined) containers[0] = { ...containers[0], ports: [{ containerPort: port }] }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers } },
      strategy: {}
    }
  }
}

/** POST one generated object; kubectl words a refusal `failed to create deployment: …`. */
async function createGenerated (target: Target, k: KindInfo, namespace: string | undefined, obj: Rec, wrapRefusal: boolean): Promise<void> {
  const name = String((obj.metadata as Rec).name)
  try {
    await request(target, 'POST', `${resourcePath(k, namespace)}?fieldManager=kubectl-create&fieldValidation=Strict`, { body: obj })
  } catch (err) {
    if (wrapRefusal && err instanceof ServerError) throw new CliError(`failed to create ${k.singular}: ${err.message}`)
    throw err
  }
  process.stdout.write(`${objectRef(k, name)} created\n`)
}

async function createFromFiles (target: Target, paths: readonly string[], validation: FieldValidation): Promise<void> {
  const manifests = await loadManifests(paths, 'create')
  const placed = manifests.map(m => ({ m, namespace: namespaceFor(m, target) }))
  for (const { m, namespace } of placed) checkValid(m, namespace)
  let failed = false
  for (const { m, namespace } of placed) {
    const body = namespace !== undefined ? { ...m.object, metadata: { ...(m.object.metadata as Rec), namespace } } : m.object
    try {
      await request(target, 'POST', `${resourcePath(m.kind, namespace)}?fieldManager=kubectl-create&fieldValidation=${validation}`, { body })
      process.stdout.write(`${objectRef(m.kind, m.name)} created\n`)
    } catch (err) {
      if (!(err instanceof ServerError)) throw err
      process.stderr.write(`${failureLine(err, `error when creating "${m.source}": `)}\n`)
      failed = true
    }
  }
  if (failed) throw new ReportedFailure()
}

interface CreateFlags extends ConnectionFlags {
  filename?: unknown
  image?: unknown
  replicas?: unknown
  port?: unknown
  validate?: unknown
}

async function create (args: readonly string[], flags: CreateFlags): Promise<void> {
  const files = listFlag(flags.filename, '--filename')
  if (files.length > 0) {
    if (args.length > 0) throw new CliError(`give either -f FILE or a kind and a name, not both (got ${args.join(' ')})`)
    const validation = validateFlag(flags.validate)
    await createFromFiles(connect(flags), files, validation)
    return
  }
  const [what, name, ...rest] = args
  if (what === undefined) throw new CliError('what to create is required: create deployment NAME --image=IMAGE, create namespace NAME, or create -f FILE')
  const k = kindOf(what)
  if (k.kind !== 'Deployment' && k.kind !== 'Namespace') throw new CliError(`create ${what} is not supported; use create deployment NAME --image=IMAGE, create namespace NAME, or create -f FILE`)
  if (name === undefined) throw new CliError(`a name is required: create ${k.singular} NAME`)
  if (rest.length > 0) throw new CliError(`unexpected arguments after the name: ${rest.join(' ')}`)
  if (k.kind === 'Namespace') {
    await createGenerated(connect(flags), k, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, false)
    return
  }
  // Check every flag before connecting, so a bad one never reaches the cluster.
  const images = listFlag(flags.image, '--image')
  if (images.length === 0) throw new CliError('required flag(s) "image" not set: create deployment NAME --image=IMAGE')
  const replicas = countFlag(flags.replicas, '--replicas') ?? 1
  const port = portFlag(flags.port, '--port')
  const target = connect(flags)
  await createGenerated(target, infoForKind('Deployment')!, target.namespace, deploymentFor(name, images, replicas, port), true)
}

export function registerCreate (cli: CAC): void {
  withConnectionFlags(cli.command('create [...args]', 'Create a Deployment (create deployment NAME --image=IMAGE), a Namespace (create namespace NAME), or the objects of manifests (create -f FILE)'))
    .usage('create deployment NAME --image=IMAGE [--replicas=N] [--port=PORT]\n  $ shoal create namespace NAME\n  $ shoal create -f FILE|DIR|-\n\n  Creates a Deployment as kubectl does (labels and selector app=NAME), a Namespace,\n  or the objects of manifests; an object that exists already is an error (see apply).')
    .option('-f, --filename <file>', 'a manifest file, a directory of them, or - for stdin; may repeat')
    .option('--image <image>', 'create deployment: the container image; may repeat for several containers')
    .option('--replicas <n>', 'create deployment: the number of replicas (default 1)')
    .option('--port <port>', 'create deployment: the port the first container exposes')
    .option('--validate <mode>', 'create -f: unknown fields are strict (refused; the default), warn (dropped with a warning) or ignore (dropped)')
    .example('shoal create deployment web --image=nginx:1.27 --replicas=3 --port=80')
    .example('shoal create namespace staging')
    .example('shoal create -f app.yaml')
    .action(async (args: string[], flags: CreateFlags) => {
      await create(args, flags)
    })
}
