import type { CAC } from 'cac'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { infoForKind } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { UnreachableError, type Endpoint } from '../../http.ts'
import { connect, kindOf, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { boolFlag, textFlag } from './flags.ts'
import { refusal, request } from '../../api.ts'

/**
 * `shoal exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]`: run a command in
 * a pod's container, as `kubectl exec` does, over Shoal's own exec protocol
 * (plain HTTP with newline-delimited JSON, not kubectl's WebSocket channels):
 *
 *   POST /api/v1/namespaces/NS/pods/NAME/exec?command=CMD&command=ARG…&container=C&stdin=true|false
 *
 * - Request body: with stdin=true, the CLI's stdin as raw bytes, streamed
 *   (chunked) for as long as it lasts; the end of the body is the end of the
 *   command's stdin. With stdin=false the body is empty.
 * - A refusal (no such pod, not bound to a node yet, no such container) is an
 *   ordinary error answer with a Kubernetes Status body; the CLI prints it as
 *   one line (`Error from server (BadRequest): pod "web" is not running on any
 *   node yet`) and exits 1.
 * - Success is `200`, `content-type: application/x-ndjson`, a body of JSON
 *   frames, one per line, in the order the output was produced:
 *     {"stream":"stdout","data":"<base64 bytes>"}
 *     {"stream":"stderr","data":"<base64 bytes>"}
 *     {"error":"<message>"}   the command could not be run or was cut off; the CLI prints it and exits 1
 *     {"exit":N}              the command exited with code N; always the last frame
 *   The CLI writes stdout and stderr frames to its own stdout and stderr and
 *   exits with N. Unknown frames are ignored, so the protocol can grow.
 *   A body that ends without an exit frame is an error (exit 1).
 */

export type ExecFrame =
  | { readonly stream: 'stdout' | 'stderr', readonly data: string }
  | { readonly exit: number }
  | { readonly error: string }

/** The exec URL of a pod's container. */
export function execPath (namespace: string, pod: string, command: readonly string[], container: string, stdin: boolean): string {
  const query = new URLSearchParams()
  for (const c of command) query.append('command', c)
  query.set('container', container)
  query.set('stdin', String(stdin))
  return `${resourcePath(infoForKind('Pod')!, namespace, pod, 'exec')}?${query}`
}

/** Splits a byte stream of frames into frames; a line that is not a known frame is dropped. */
export class FrameReader {
  #buffered = ''

  push (text: string): ExecFrame[] {
    this.#buffered += text
    const frames: ExecFrame[] = []
    for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, nl).trim()
      this.#buffered = this.#buffered.slice(nl + 1)
      if (line === '') continue
      let f: Record<string, unknown>
      try {
        f = JSON.parse(line) as Record<string, unknown>
      } catch {
        throw new CliError(`the exec stream carried a line that is not JSON: ${line.slice(0, 80)}`)
      }
      if ((f.stream === 'stdout' || f.stream === 'stderr') && typeof f.data === 'string') frames.push({ stream: f.stream, data: f.data })
      else if (typeof f.exit === 'number' && Number.isInteger(f.exit)) frames.push({ exit: f.exit })
      else if (typeof f.error === 'string') frames.push({ error: f.error })
    }
    return frames
  }
}

/**
 * POST with a streamed body. The shared `open` takes a body only as a whole
 * string, which would make `exec -i` wait for the end of stdin before the
 * command starts; this request pipes it instead.
 */
async function streamRequest (e: Endpoint, path: string, body: NodeJS.ReadableStream | undefined): Promise<{ res: IncomingMessage, abort: () => void }> {
  const headers: Record<string, string> = { accept: 'application/x-ndjson, application/json' }
  if (e.kind === 'tcp' && e.token !== undefined) headers.authorization = `Bearer ${e.token}`
  if (body !== undefined) headers['content-type'] = 'application/octet-stream'
  else headers['content-length'] = '0'
  const tls = e.kind === 'tcp' && e.tls
  return await new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)({
      ...(e.kind === 'tcp' ? { host: e.host, port: e.port } : { socketPath: e.path }),
      ...(e.kind === 'tcp' && tls ? { ...(e.ca !== undefined ? { ca: e.ca } : {}), rejectUnauthorized: e.insecure !== true } : {}),
      method: 'POST',
      path,
      headers
    }, res => resolve({ res, abort: () => { req.destroy() } }))
    req.on('error', (err: NodeJS.ErrnoException) => { reject(new UnreachableError(e, err)) })
    if (body === undefined) req.end()
    else body.pipe(req)
  })
}

/** Read the frames of an exec answer to the end; resolves with the exit code. */
async function relayFrames (res: IncomingMessage, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const reader = new FrameReader()
  res.setEncoding('utf8')
  for await (const chunk of res) {
    for (const f of reader.push(chunk as string)) {
      if ('stream' in f) (f.stream === 'stdout' ? out : err).write(Buffer.from(f.data, 'base64'))
      else if ('error' in f) throw new CliError(f.error)
      else return f.exit
    }
  }
  throw new CliError('the exec stream ended without the command\'s exit code')
}

interface ExecFlags extends ConnectionFlags {
  container?: unknown
  stdin?: unknown
  tty?: unknown
  '--'?: string[]
}

interface PodView { metadata?: { name?: string }, spec?: { containers?: Array<{ name: string }>, initContainers?: Array<{ name: string }>, ephemeralContainers?: Array<{ name: string }> }, status?: { phase?: string } }

/** The container to run in: -c, else the pod's first (saying so when there are several, as kubectl does). */
function containerOf (pod: PodView, name: string, given: string | undefined): string {
  const containers = pod.spec?.containers ?? []
  if (given !== undefined) {
    const all = [...containers, ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])]
    if (!all.some(c => c.name === given)) throw new CliError(`container ${given} is not valid for pod ${name}`)
    return given
  }
  const first = containers[0]
  if (first === undefined) throw new CliError(`pod ${name} has no containers`)
  if (containers.length > 1) process.stderr.write(`Defaulted container ${JSON.stringify(first.name)} out of: ${containers.map(c => c.name).join(', ')}\n`)
  return first.name
}

async function exec (args: readonly string[], flags: ExecFlags): Promise<void> {
  const command = flags['--'] ?? []
  const container = textFlag(flags.container, '--container')
  const withStdin = boolFlag(flags.stdin, '--stdin', false)
  // Out of habit people type -it; run without a TTY rather than refuse, and say so as kubectl does.
  if (boolFlag(flags.tty, '--tty', false)) process.stderr.write('Unable to use a TTY - shoal exec does not support one yet; running without\n')
  const [podArg, ...extra] = args
  if (podArg === undefined) throw new CliError('a pod is required: exec POD [-c CONTAINER] -- COMMAND [ARGS...]')
  if (extra.length > 0) throw new CliError('exec [POD] [COMMAND] is not supported; use exec POD -- COMMAND [ARGS...]')
  if (command.length === 0) throw new CliError('you must specify at least one command for the container: exec POD -- COMMAND [ARGS...]')
  let name = podArg
  const slash = podArg.indexOf('/')
  if (slash > 0) {
    if (kindOf(podArg.slice(0, slash)).kind !== 'Pod') throw new CliError(`exec runs in pods only: give POD or pod/POD, not ${podArg}`)
    name = podArg.slice(slash + 1)
  }
  const target: Target = connect(flags)
  const pod = await request<PodView>(target, 'GET', resourcePath(infoForKind('Pod')!, target.namespace, name))
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') throw new CliError(`cannot exec into a container in a completed pod; current phase is ${phase}`)
  const c = containerOf(pod, name, container)
  const { res, abort } = await streamRequest(target.endpoint, execPath(target.namespace, name, command, c, withStdin), withStdin ? process.stdin : undefined)
  try {
    if (res.statusCode !== 200) {
      let text = ''
      res.setEncoding('utf8')
      for await (const chunk of res) text += chunk as string
      throw refusal(target.endpoint, res.statusCode ?? 0, text)
    }
    const code = await relayFrames(res, process.stdout, process.stderr)
    if (code !== 0) process.stderr.write(`command terminated with exit code ${code}\n`)
    process.exitCode = code
  } finally {
    // The command is over: stop reading our stdin (which would keep the process alive) and drop the connection.
    if (withStdin) {
      process.stdin.unpipe()
      process.stdin.destroy()
    }
    abort()
  }
}

export function registerExec (cli: CAC): void {
  withConnectionFlags(cli.command('exec [...args]', 'Run a command in a container of a pod: exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]'))
    .usage('exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]\n\n  Runs a command in a container of a pod; exits with the command\'s exit code.')
    .option('-c, --container <name>', 'the container (default: the pod\'s first)')
    .option('-i, --stdin', 'pass this command\'s stdin to the container')
    .option('-t, --tty', 'accepted for kubectl habits (-it); Shoal runs commands without a TTY')
    .example('shoal exec web-7c9d-x2b4q -- ls -l /')
    .example('shoal exec web-7c9d-x2b4q -c sidecar -- cat /etc/hostname')
    .example('echo hello | shoal exec -i web-7c9d-x2b4q -- cat')
    .action(async (args: string[], flags: ExecFlags) => {
      await exec(args, flags)
    })
}
