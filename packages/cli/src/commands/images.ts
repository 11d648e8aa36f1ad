import type { CAC } from 'cac'
import type { IncomingMessage } from 'node:http'
import { Transform } from 'node:stream'
import { clusterImages, imageKey, type ClusterImageRow } from '@shoal/core/images/inventory.ts'
import { IMAGE_RECORDS, imageRecords } from '@shoal/core/images/records.ts'
import type { KubeObject } from '@shoal/core'
import { CliError, type Target } from '../client.ts'
import { formatTable } from '../format.ts'
import { open, send } from '../http.ts'
import { connect, withConnectionFlags, type ConnectionFlags } from '../kube.ts'
import { getJson, refusal, withQuery } from '../api.ts'

/**
 * `shoal image VERB`: the images the cluster holds, as its own registry
 * mirror (agent/images).
 * - `ls` lists every name and ID the nodes report in their status.images,
 *   with the nodes holding each;
 * - `push IMAGE` seeds an image from the local Docker engine: when the node
 *   the CLI talks to holds it already, only the name's record (its ID, which
 *   wins over what other nodes hold under the name) is written; else its
 *   `docker save` archive goes up, with a progress bar on a terminal;
 * - `rm IMAGE` withdraws the name: the cluster stops serving it, and nodes
 *   drop it where no container uses it.
 */

export interface ImageFlags extends ConnectionFlags {
  output?: string
  /** The local engine `push` reads from (default $DOCKER_HOST's socket, or /var/run/docker.sock). */
  dockerSocket?: string
}

/** The longest an upload and its load into the node's engine may take, ms. */
const UPLOAD_TIMEOUT_MS = 30 * 60_000

/** 1536 → `1.5kB`, as `docker images` prints sizes (powers of 1000). */
export function formatSize (bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let u = 0
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return u === 0 ? `${v}B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[u]!}`
}

/** `shoal image ls`: NAME, ID (12 hex, as docker prints it), SIZE, NODES. */
export function formatImageList (rows: readonly ClusterImageRow[], output: string | undefined): string {
  if (output === 'json') return JSON.stringify({ items: rows }, null, 2) + '\n'
  if (output !== undefined) throw new CliError(`-o ${output}: unknown output format (use json)`)
  if (rows.length === 0) return 'No images found on any node.\n'
  return formatTable(['NAME', 'ID', 'SIZE', 'NODES'], rows.map(r => [r.name, r.id.slice('sha256:'.length, 'sha256:'.length + 12), formatSize(r.sizeBytes), r.nodes.join(',')]))
}

/** The engine socket `push` reads images from. */
export function dockerSocketOf (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag
  const host = env.DOCKER_HOST
  if (host === undefined || host === '') return '/var/run/docker.sock'
  if (host.startsWith('unix://')) return host.slice('unix://'.length)
  throw new CliError(`DOCKER_HOST=${host}: only a unix:// socket is supported; pass --docker-socket PATH`)
}

/** `[=====>      ]  45.1 MB / 102.4 MB`. */
export function progressBar (done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0
  const filled = Math.round(frac * width)
  const bar = filled >= width ? '='.repeat(width) : '='.repeat(filled) + '>' + ' '.repeat(width - filled - 1)
  return `[${bar}] ${(done / 1e6).toFixed(1).padStart(6)} MB / ${(total / 1e6).toFixed(1)} MB`
}

/** The JSON answer of a request; a refusal thrown as the read commands throw it. */
async function answerOf (target: Target, res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if ((res.statusCode ?? 0) >= 400) throw refusal(target.endpoint, res.statusCode ?? 0, text)
  return JSON.parse(text) as unknown
}

interface PushAnswer { image: string, id: string, uploaded: boolean, nodes: string[] }

async function push (target: Target, image: string, socket: string): Promise<string> {
  const key = imageKey(image)
  if (key === undefined) throw new CliError(`${JSON.stringify(image)} is not an image name that can be pushed (NAME[:TAG], not pinned by a digest)`)
  const { default: Docker } = await import('dockerode')
  const docker = new Docker({ socketPath: socket })
  let info: { Id: string, Size: number }
  try {
    info = await docker.getImage(key).inspect()
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode
    if (code === 404) throw new CliError(`${key}: no such image in the local Docker engine (${socket})`)
    throw new CliError(`cannot read the local Docker engine (${socket}): ${(err as Error).message}`)
  }
  const path = withQuery('/api/shoal/v1/images/push', { image: key, id: info.Id })
  // The node may hold it already (the CLI runs on a node, beside its engine): then only the record is written.
  const first = await send(target.endpoint, 'POST', path, { body: '' })
  const shortId = info.Id.slice('sha256:'.length, 'sha256:'.length + 12)
  if (first.status < 400) {
    const a = JSON.parse(first.text) as PushAnswer
    return `${a.image}: pushed ${shortId} (held by ${a.nodes.join(', ')})\n`
  }
  if (first.status !== 404) throw refusal(target.endpoint, first.status, first.text)
  const tar = await docker.getImage(info.Id).get()
  const tty = process.stderr.isTTY
  let sent = 0
  let shownMs = 0
  const show = (last: boolean): void => {
    if (!tty) return
    const t = Date.now()
    if (!last && t - shownMs < 100) return
    shownMs = t
    process.stderr.write(`\rUploading ${progressBar(last ? Math.max(sent, info.Size) : sent, Math.max(sent, info.Size))}${last ? '\n' : ''}`)
  }
  const counted = new Transform({
    transform (chunk: Buffer, _enc, done) {
      sent += chunk.length
      show(false)
      done(null, chunk)
    }
  })
  tar.pipe(counted)
  tar.on('error', (err: Error) => counted.destroy(err))
  const res = await open(target.endpoint, 'POST', withQuery('/api/shoal/v1/images/push', { image: key, id: info.Id, size: String(info.Size) }), { upload: counted, headers: { 'content-type': 'application/x-tar' }, timeoutMs: UPLOAD_TIMEOUT_MS })
  show(true)
  const a = await answerOf(target, res) as PushAnswer
  return `${a.image}: pushed ${shortId} (${(sent / 1e6).toFixed(1)} MB uploaded; held by ${a.nodes.join(', ')})\n`
}

export function registerImageCommands (cli: CAC): void {
  withConnectionFlags(cli.command('image [verb] [name]', 'The images the cluster\'s nodes hold and serve each other: ls, push IMAGE, rm IMAGE'), { namespaced: false })
    .option('-o, --output <format>', 'json (ls)')
    .option('--docker-socket <path>', 'the local Docker engine push reads from (default: $DOCKER_HOST, else /var/run/docker.sock)')
    .example('shoal image ls')
    .example('shoal image push kub-first-app')
    .example('shoal image rm kub-first-app')
    .action(async (verb: string | undefined, name: string | undefined, flags: ImageFlags) => {
      const verbs = 'ls, push IMAGE, rm IMAGE'
      if (verb === undefined) throw new CliError(`shoal image needs a verb: ${verbs}`)
      if (verb === 'ls') {
        if (name !== undefined) throw new CliError(`shoal image ls takes no argument (got ${JSON.stringify(name)})`)
        const target = connect(flags)
        const [nodes, records] = await Promise.all([
          getJson<{ items: KubeObject[] }>(target, '/api/v1/nodes'),
          getJson<{ items: KubeObject[] }>(target, `/api/shoal/v1/store/${IMAGE_RECORDS.resource}`)
        ])
        process.stdout.write(formatImageList(clusterImages(nodes.items, imageRecords(records.items)), flags.output))
        return
      }
      if (verb !== 'push' && verb !== 'rm') throw new CliError(`unknown verb ${JSON.stringify(verb)} for shoal image: use ${verbs}`)
      if (name === undefined) throw new CliError(`shoal image ${verb} needs an image name: shoal image ${verb} IMAGE`)
      if (flags.output !== undefined) throw new CliError(`-o is for shoal image ls, not ${verb}`)
      const target = connect(flags)
      if (verb === 'push') {
        process.stdout.write(await push(target, name, dockerSocketOf(flags.dockerSocket)))
        return
      }
      const key = imageKey(name)
      if (key === undefined) throw new CliError(`${JSON.stringify(name)} is not an image name (NAME[:TAG], not pinned by a digest)`)
      const res = await open(target.endpoint, 'DELETE', withQuery('/api/shoal/v1/images', { image: key }))
      const a = await answerOf(target, res) as { image: string, withdrawn: string[] }
      process.stdout.write(`${a.image}: removed ${a.withdrawn.map(id => id.slice('sha256:'.length, 'sha256:'.length + 12)).join(', ')} (no longer served; nodes drop it where no container uses it)\n`)
    })
}
