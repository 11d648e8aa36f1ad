import { Readable } from 'node:stream'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, Stream } from '@libp2p/interface'
import { ShoalError, type Member } from '@shoal/core'
import type { MeshNode } from '../mesh/mesh.ts'
import { serveProtocol, type ProtocolServer } from '../mesh/serve.ts'
import type { Logger } from '../log.ts'
import type { ExecSession } from './runtime.ts'
import type { PodExecOptions, PodIO, PodLogOptions } from './pod-io.ts'

/**
 * `/shoal/pod-io/1.0.0`: logs and exec of a pod on another agent. One stream
 * per request. The client sends a request frame; the server answers
 * `accepted` (then data) or `error` (a ShoalError's reason, code and message,
 * rebuilt as the same ShoalError on the client). Then data flows: stdout /
 * stderr from the server (logs are stdout), stdin from the client, each
 * ended by an `end` frame; exec closes with an `exit` frame. Each data
 * direction has a credit window: the receiver grants bytes back as its
 * reader consumes them, so a slow HTTP client slows the container's output
 * instead of filling memory. Aborting on either side resets the stream, and
 * the other side aborts too.
 *
 * Frames (length-prefixed): one type byte, then for data/end/credit one
 * stream byte (0 stdin, 1 stdout, 2 stderr) and the bytes / nothing / a
 * uint32 grant; for request/accepted/error/exit a JSON body.
 */
export const POD_IO_PROTOCOL = '/shoal/pod-io/1.0.0'

const T = { request: 1, accepted: 2, error: 3, data: 4, end: 5, credit: 6, exit: 7 } as const
const STDIN = 0
const STDOUT = 1
const STDERR = 2
type StreamId = typeof STDIN | typeof STDOUT | typeof STDERR

/** Bytes a sender may have unacknowledged per data stream. */
const WINDOW = 256 * 1024
/** The receiver grants credit back in pieces at least this big (WINDOW/4: at most 4 grants per window). */
const GRANT_AT = WINDOW / 4
/** Largest data frame, bytes. */
const MAX_CHUNK = 64 * 1024
const MAX_FRAME_BYTES = 1024 * 1024
/** Opening the stream to the pod's agent, ms. */
const DIAL_TIMEOUT_MS = 10_000
/** The server waits this long for the request frame, and the client for the answer to it, ms (the kubelet may dial Docker). */
const ANSWER_TIMEOUT_MS = 30_000
/** Concurrent pod-io streams per connection (every `logs -f` holds one). */
const MAX_STREAMS = 1024

export type PodIORequest =
  | { readonly op: 'logs', readonly namespace: string, readonly pod: string, readonly container?: string, readonly follow: boolean, readonly tailLines?: number, readonly previous: boolean, readonly timestamps: boolean, readonly sinceSeconds?: number }
  | { readonly op: 'exec', readonly namespace: string, readonly pod: string, readonly container?: string, readonly command: string[], readonly stdin: boolean, readonly tty: boolean }

type Frame =
  | { readonly type: typeof T.data, readonly sid: StreamId, readonly bytes: Uint8Array }
  | { readonly type: typeof T.end, readonly sid: StreamId }
  | { readonly type: typeof T.credit, readonly sid: StreamId, readonly n: number }
  | { readonly type: typeof T.request | typeof T.accepted | typeof T.error | typeof T.exit, readonly json: unknown }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Credit a sender holds for one data stream; `take` waits for a grant. */
class Credit {
  #n = WINDOW
  #wake: (() => void) | undefined
  #failed: Error | undefined

  add (n: number): void {
    this.#n += n
    this.#wakeUp()
  }

  fail (err: Error): void {
    this.#failed ??= err
    this.#wakeUp()
  }

  async take (max: number): Promise<number> {
    while (this.#n <= 0 && this.#failed === undefined) await new Promise<void>(resolve => { this.#wake = resolve })
    if (this.#failed !== undefined) throw this.#failed
    const k = Math.min(max, this.#n)
    this.#n -= k
    return k
  }

  #wakeUp (): void {
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }
}

/** Both ends' view of one stream: framed, serialized writes, and credit per outgoing data stream. */
class Channel {
  readonly stream: Stream
  readonly #lp: LengthPrefixedStream<Stream>
  #writes: Promise<void> = Promise.resolve()
  readonly credits = new Map<StreamId, Credit>([[STDIN, new Credit()], [STDOUT, new Credit()], [STDERR, new Credit()]])

  constructor (stream: Stream) {
    this.stream = stream
    this.#lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  }

  async send (frame: Uint8Array): Promise<void> {
    const w = this.#writes.then(async () => { await this.#lp.write(frame) })
    this.#writes = w.catch(() => {})
    await w
  }

  async sendJson (type: typeof T.request | typeof T.accepted | typeof T.error | typeof T.exit, body: unknown): Promise<void> {
    const json = encoder.encode(JSON.stringify(body))
    const f = new Uint8Array(1 + json.byteLength)
    f[0] = type
    f.set(json, 1)
    await this.send(f)
  }

  async sendData (sid: StreamId, bytes: Uint8Array): Promise<void> {
    const f = new Uint8Array(2 + bytes.byteLength)
    f[0] = T.data
    f[1] = sid
    f.set(bytes, 2)
    await this.send(f)
  }

  async sendEnd (sid: StreamId): Promise<void> {
    await this.send(Uint8Array.of(T.end, sid))
  }

  grant (sid: StreamId, n: number): void {
    const f = new Uint8Array(6)
    f[0] = T.credit
    f[1] = sid
    new DataView(f.buffer).setUint32(2, n)
    this.send(f).catch(() => {})
  }

  async sendError (err: unknown): Promise<void> {
    const e = err instanceof ShoalError ? err : new ShoalError('InternalError', 500, (err as Error)?.message ?? String(err))
    await this.sendJson(T.error, { reason: e.reason, code: e.code, message: e.message })
  }

  /** The next frame; undefined when the stream ended or failed. Throws on a malformed frame. */
  async read (signal?: AbortSignal): Promise<Frame | undefined> {
    let bytes: Uint8Array
    try {
      bytes = (await this.#lp.read(signal !== undefined ? { signal } : {})).subarray()
    } catch (err) {
      if (signal?.aborted === true) throw err
      return undefined
    }
    const type = bytes[0]
    if (type === T.data || type === T.end || type === T.credit) {
      const sid = bytes[1]
      if (sid !== STDIN && sid !== STDOUT && sid !== STDERR) throw new Error('pod-io: bad stream id')
      if (type === T.data) return { type, sid, bytes: bytes.subarray(2) }
      if (type === T.end) return { type, sid }
      if (bytes.byteLength !== 6) throw new Error('pod-io: bad credit frame')
      return { type, sid, n: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2) }
    }
    if (type === T.request || type === T.accepted || type === T.error || type === T.exit) {
      return { type, json: JSON.parse(decoder.decode(bytes.subarray(1))) }
    }
    throw new Error(`pod-io: unknown frame type ${String(type)}`)
  }

  /** Close our writing side once what is queued has gone out. */
  async close (): Promise<void> {
    await this.#writes
    await this.stream.close().catch(() => {})
  }
}

/**
 * What the receiving side reads: a Readable that takes data frames and
 * grants their bytes back as its reader consumes them.
 */
function inbound (ch: Channel, sid: StreamId): { readable: Readable, push: (b: Uint8Array) => void } {
  let owed = 0
  const payBack = (): void => {
    if (owed >= GRANT_AT) {
      ch.grant(sid, owed)
      owed = 0
    }
  }
  const readable = new Readable({ highWaterMark: WINDOW, read: payBack })
  return {
    readable,
    push (b) {
      if (readable.destroyed || readable.readableEnded) return
      owed += b.byteLength
      if (readable.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) payBack()
    }
  }
}

/** Send a Readable's bytes as data frames within the credit, then an end frame. */
async function pump (ch: Channel, sid: StreamId, source: Readable): Promise<void> {
  const credit = ch.credits.get(sid)!
  for await (const chunk of source) {
    let buf: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Uint8Array
    while (buf.byteLength > 0) {
      const n = await credit.take(Math.min(buf.byteLength, MAX_CHUNK))
      await ch.sendData(sid, buf.subarray(0, n))
      buf = buf.subarray(n)
    }
  }
  await ch.sendEnd(sid)
}

function toShoalError (json: unknown): ShoalError {
  const e = (typeof json === 'object' && json !== null ? json : {}) as { reason?: unknown, code?: unknown, message?: unknown }
  return new ShoalError(
    typeof e.reason === 'string' ? e.reason : 'InternalError',
    typeof e.code === 'number' && Number.isInteger(e.code) ? e.code : 500,
    typeof e.message === 'string' ? e.message : 'the pod\'s agent failed'
  )
}

// ---------------------------------------------------------------- server

export type PodIOServer = ProtocolServer

/** Answer pod-io requests from other agents with the local kubelet's PodIO. */
export async function servePodIO (node: MeshNode, podIO: PodIO, log: Logger): Promise<PodIOServer> {
  return await serveProtocol(node, POD_IO_PROTOCOL, async (stream, _connection, ac) => { await serveOne(stream, podIO, ac, log) },
    err => { log.debug({ err: err.message }, 'pod-io request failed') },
    { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS })
}

async function serveOne (stream: Stream, podIO: PodIO, ac: AbortController, log: Logger): Promise<void> {
  const ch = new Channel(stream)
  let finished = false
  const onClose = (): void => { if (!finished) ac.abort(new Error('the requesting agent went away')) }
  stream.addEventListener('close', onClose, { once: true })
  ac.signal.addEventListener('abort', () => { for (const c of ch.credits.values()) c.fail(new Error('aborted')) }, { once: true })
  try {
    const first = await ch.read(AbortSignal.any([ac.signal, AbortSignal.timeout(ANSWER_TIMEOUT_MS)]))
    const req = first !== undefined && first.type === T.request ? parseRequest(first.json) : undefined
    if (req === undefined) {
      await ch.sendError(new ShoalError('BadRequest', 400, 'malformed pod-io request'))
      finished = true
      await ch.close()
      return
    }
    const stdin = req.op === 'exec' && req.stdin ? inbound(ch, STDIN) : undefined
    // Everything after the request: credit for our output, the client's stdin. Its end (or failure) before we finish means the client is gone.
    void (async () => {
      for (;;) {
        const f = await ch.read().catch(() => undefined)
        if (f === undefined) break
        if (f.type === T.credit && f.sid !== STDIN) ch.credits.get(f.sid)!.add(f.n)
        else if (f.type === T.data && f.sid === STDIN) stdin?.push(f.bytes)
        else if (f.type === T.end && f.sid === STDIN) stdin?.readable.push(null)
      }
      if (!finished) ac.abort(new Error('the requesting agent went away'))
      if (stdin !== undefined && !stdin.readable.readableEnded) stdin.readable.push(null)
    })()

    const sources: Readable[] = []
    ac.signal.addEventListener('abort', () => { for (const s of sources) s.destroy() }, { once: true })
    try {
      if (req.op === 'logs') {
        const { op: _op, namespace, pod, ...opts } = req
        const out = await podIO.logs(namespace, pod, { ...opts, signal: ac.signal })
        sources.push(out)
        await ch.sendJson(T.accepted, {})
        await pump(ch, STDOUT, out)
      } else {
        const session = await podIO.exec(req.namespace, req.pod, {
          ...(req.container !== undefined ? { container: req.container } : {}),
          command: req.command,
          ...(stdin !== undefined ? { stdin: stdin.readable } : {}),
          tty: req.tty,
          signal: ac.signal
        })
        sources.push(session.stdout, session.stderr)
        await ch.sendJson(T.accepted, {})
        await Promise.all([pump(ch, STDOUT, session.stdout), pump(ch, STDERR, session.stderr)])
        await ch.sendJson(T.exit, { code: await session.exitCode })
      }
    } catch (err) {
      if (ac.signal.aborted) return
      if (!(err instanceof ShoalError)) log.debug({ err: (err as Error).message, op: req.op, pod: `${req.namespace}/${req.pod}` }, 'pod-io failed')
      await ch.sendError(err)
    }
    finished = true
    await ch.close()
  } finally {
    stream.removeEventListener('close', onClose)
  }
}

function parseRequest (raw: unknown): PodIORequest | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (typeof r.namespace !== 'string' || typeof r.pod !== 'string' || r.pod === '') return undefined
  if (r.container !== undefined && typeof r.container !== 'string') return undefined
  const optInt = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0)
  const container = typeof r.container === 'string' ? { container: r.container } : {}
  if (r.op === 'logs') {
    if (typeof r.follow !== 'boolean' || typeof r.previous !== 'boolean' || typeof r.timestamps !== 'boolean') return undefined
    if (!optInt(r.tailLines) || !optInt(r.sinceSeconds)) return undefined
    return {
      op: 'logs',
      namespace: r.namespace,
      pod: r.pod,
      ...container,
      follow: r.follow,
      previous: r.previous,
      timestamps: r.timestamps,
      ...(r.tailLines !== undefined ? { tailLines: r.tailLines as number } : {}),
      ...(r.sinceSeconds !== undefined ? { sinceSeconds: r.sinceSeconds as number } : {})
    }
  }
  if (r.op === 'exec') {
    if (!Array.isArray(r.command) || r.command.length === 0 || !r.command.every(c => typeof c === 'string')) return undefined
    if (typeof r.stdin !== 'boolean' || typeof r.tty !== 'boolean') return undefined
    return { op: 'exec', namespace: r.namespace, pod: r.pod, ...container, command: r.command as string[], stdin: r.stdin, tty: r.tty }
  }
  return undefined
}

// ---------------------------------------------------------------- client

/**
 * A PodIO for the pods of the agent at `peer`, over POD_IO_PROTOCOL. `nodeName`
 * only makes error messages say which node could not be reached.
 */
export function remotePodIO (node: MeshNode, peer: PeerId | string, nodeName?: string): PodIO {
  const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer
  const label = nodeName !== undefined ? `node "${nodeName}"` : `peer ${peerId.toString()}`

  /** Open the stream, send the request and wait for its answer; aborting `signal` resets the stream from then on. */
  const open = async (req: PodIORequest, signal: AbortSignal): Promise<{ ch: Channel, detach: () => void }> => {
    signal.throwIfAborted()
    let stream: Stream
    try {
      stream = await node.dialProtocol(peerId, POD_IO_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]), maxOutboundStreams: MAX_STREAMS })
    } catch (err) {
      signal.throwIfAborted()
      throw new ShoalError('ServiceUnavailable', 503, `${label} is not reachable: ${(err as Error).message}`)
    }
    const ch = new Channel(stream)
    const onAbort = (): void => { stream.abort(new Error('aborted by the requester')) }
    signal.addEventListener('abort', onAbort, { once: true })
    const detach = (): void => { signal.removeEventListener('abort', onAbort) }
    let first: Frame | undefined
    try {
      await ch.sendJson(T.request, req)
      first = await ch.read(AbortSignal.any([signal, AbortSignal.timeout(ANSWER_TIMEOUT_MS)]))
    } catch (err) {
      detach()
      stream.abort(err as Error)
      signal.throwIfAborted()
      throw new ShoalError('ServiceUnavailable', 503, `${label} did not answer: ${(err as Error).message}`)
    }
    if (first?.type === T.accepted) return { ch, detach }
    detach()
    if (first?.type === T.error) {
      void ch.close()
      throw toShoalError(first.json)
    }
    stream.abort(new Error('unexpected answer'))
    throw new ShoalError('ServiceUnavailable', 503, `${label} ended the ${req.op} stream without an answer`)
  }

  const lost = (what: string): ShoalError => new ShoalError('ServiceUnavailable', 503, `lost the ${what} stream from ${label}`)

  return {
    async logs (namespace: string, pod: string, opts: PodLogOptions): Promise<Readable> {
      const req: PodIORequest = {
        op: 'logs',
        namespace,
        pod,
        ...(opts.container !== undefined ? { container: opts.container } : {}),
        follow: opts.follow,
        previous: opts.previous,
        timestamps: opts.timestamps,
        ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
        ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {})
      }
      const { ch, detach } = await open(req, opts.signal)
      const out = inbound(ch, STDOUT)
      void (async () => {
        let failure: Error | undefined = lost('log')
        for (;;) {
          const f = await ch.read().catch(() => undefined)
          if (f === undefined) break
          if (f.type === T.data && f.sid === STDOUT) out.push(f.bytes)
          else if (f.type === T.end && f.sid === STDOUT) { failure = undefined; break }
          else if (f.type === T.error) { failure = toShoalError(f.json); break }
        }
        detach()
        if (failure === undefined) {
          out.readable.push(null)
          await ch.close()
        } else if (opts.signal.aborted) {
          out.readable.destroy()
        } else {
          ch.stream.abort(failure)
          out.readable.destroy(failure)
        }
      })()
      // A reader that gives up early (destroys the stream) ends the request too.
      out.readable.once('close', () => { if (!out.readable.readableEnded) ch.stream.abort(new Error('the reader went away')) })
      return out.readable
    },

    async exec (namespace: string, pod: string, opts: PodExecOptions): Promise<ExecSession> {
      const req: PodIORequest = {
        op: 'exec',
        namespace,
        pod,
        ...(opts.container !== undefined ? { container: opts.container } : {}),
        command: [...opts.command],
        stdin: opts.stdin !== undefined,
        tty: opts.tty
      }
      const { ch, detach } = await open(req, opts.signal)
      const stdout = inbound(ch, STDOUT)
      const stderr = inbound(ch, STDERR)
      let resolveExit: (code: number) => void = () => {}
      let rejectExit: (err: Error) => void = () => {}
      const exitCode = new Promise<number>((resolve, reject) => { resolveExit = resolve; rejectExit = reject })
      // Whoever does not wait for the exit code must not see an unhandled rejection.
      exitCode.catch(() => {})
      let over = false
      if (opts.stdin !== undefined) {
        const stdin = opts.stdin
        void pump(ch, STDIN, stdin).catch(() => {
          // Our stdin failed, or the session is over: end the command's stdin if we still can.
          if (!over) ch.sendEnd(STDIN).catch(() => {})
        })
      }
      void (async () => {
        let failure: Error | undefined = lost('exec')
        for (;;) {
          const f = await ch.read().catch(() => undefined)
          if (f === undefined) break
          if (f.type === T.data) (f.sid === STDERR ? stderr : stdout).push(f.bytes)
          else if (f.type === T.end && f.sid !== STDIN) (f.sid === STDERR ? stderr : stdout).readable.push(null)
          else if (f.type === T.credit && f.sid === STDIN) ch.credits.get(STDIN)!.add(f.n)
          else if (f.type === T.exit) {
            const code = (f.json as { code?: unknown }).code
            if (typeof code === 'number' && Number.isInteger(code)) {
              failure = undefined
              resolveExit(code)
            } else {
              failure = new ShoalError('InternalError', 500, `${label} sent a malformed exit code`)
            }
            break
          } else if (f.type === T.error) { failure = toShoalError(f.json); break }
        }
        over = true
        detach()
        ch.credits.get(STDIN)!.fail(new Error('the session is over'))
        if (failure === undefined) {
          for (const s of [stdout, stderr]) if (!s.readable.readableEnded) s.readable.push(null)
          await ch.close()
          return
        }
        const reason = opts.signal.aborted ? new ShoalError('Aborted', 499, 'the exec was aborted') : failure
        if (!opts.signal.aborted) ch.stream.abort(failure)
        rejectExit(reason)
        for (const s of [stdout, stderr]) {
          if (opts.signal.aborted) s.readable.destroy()
          else s.readable.destroy(failure)
        }
      })()
      return { stdout: stdout.readable, stderr: stderr.readable, exitCode }
    }
  }
}

/**
 * The PodIO for a node by name, as the api server needs it: the local
 * kubelet's for this agent, a remote one for a live member, undefined when
 * the node is not a member or is dead or gone.
 */
export function podIOResolver (c: { readonly node: MeshNode, readonly self: string, readonly local: PodIO, readonly members: () => readonly Member[] }): (nodeName: string) => PodIO | undefined {
  const remotes = new Map<string, PodIO>()
  return nodeName => {
    if (nodeName === c.self) return c.local
    const m = c.members().find(x => x.name === nodeName)
    if (m === undefined || m.state === 'dead' || m.state === 'left') return undefined
    const key = `${nodeName}/${m.peerId}`
    let io = remotes.get(key)
    if (io === undefined) {
      io = remotePodIO(c.node, m.peerId, nodeName)
      remotes.set(key, io)
    }
    return io
  }
}
