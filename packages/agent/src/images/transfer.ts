import { randomBytes } from 'node:crypto'
import { createReadStream, writeSync } from 'node:fs'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type Docker from 'dockerode'
import { InvalidConfigError, ShoalError } from '@shoal/core'
import type { MeshNode } from '../mesh/mesh.ts'
import { serveProtocol, type ProtocolServer } from '../mesh/serve.ts'
import { CLUSTER_KEY_MISMATCH } from '../mesh/cluster-key.ts'
import { followProgress } from '../kubelet/docker-stream.ts'
import type { Logger } from '../log.ts'
import { ArchiveCheck, ArchiveRefusal, ArchiveTruncated, shortId } from './archive.ts'

/**
 * `/shoal/image/1.0.0`: one agent fetches an image, by its Docker image ID,
 * from a peer's engine, without a registry. One stream per transfer. The
 * client sends a length-prefixed JSON request `{ id }`; the server answers a
 * length-prefixed JSON `{ ok: true, size }` or `{ error: { kind, message } }`
 * and, on ok, sends the raw `docker save` bytes and closes its write side. If
 * its engine fails mid-way it resets the stream, so a client never mistakes
 * a cut-off archive for a whole one. Backpressure is yamux's window: the
 * server queues little and waits for drain, the client pauses the stream
 * while its disk and checker are behind (both around @libp2p/utils 7.4.1
 * quirks, see drained and incoming).
 *
 * The client trusts nothing it receives: it keeps the bytes in a temp file
 * and checks them while they arrive (see ArchiveCheck); only an archive whose
 * contents hash to the requested ID, all the way down to every layer, is
 * handed to `docker load`.
 */
export const IMAGE_PROTOCOL = '/shoal/image/1.0.0'

/** An image ID as `docker inspect` prints it: the sha256 of the image's config. */
const IMAGE_ID = /^sha256:([0-9a-f]{64})$/

/**
 * Transfers a server sends at once. One: the others ask again shortly, and
 * by then the node served holds the image too, so the holders double every
 * transfer. With 2, the first holder kept taking the askers of the second
 * wave before the nodes it had just served showed as holders: to 5 hosts
 * over 100 Mbit/s links, 38 s against 30 s with 1.
 */
const DEFAULT_MAX_CONCURRENT = 1
/** Image streams per connection, so that libp2p lets requests in and we answer `busy` ourselves. */
const MAX_STREAMS = 64
/** Request and answer frames are small JSON. */
const MAX_FRAME_BYTES = 64 * 1024
/** Opening the stream to the peer, ms. */
const DIAL_TIMEOUT_MS = 10_000
/** The server waits this long for the request; the client this long for the answer, which comes after the server's engine began the export, ms. */
const ANSWER_TIMEOUT_MS = 60_000
/** The server queues at most this much on the stream beyond what yamux's window lets out, then waits for drain: 4 MiB moved 100 MB some 10 % faster than 256 KiB (one initial window) on loopback. */
const SEND_BUFFER_BYTES = 4 * 1024 * 1024
/** The client pauses the stream when this much waits in memory for disk and checker, and resumes below RESUME_AT. */
const PAUSE_AT = 4 * 1024 * 1024
const RESUME_AT = 1024 * 1024
/**
 * What has queued up is handed on in pieces of up to this much, not frame by
 * frame (noise's are under 64 KiB): a file write, a check step and an engine
 * write per piece instead of per frame, once the receiver fell behind.
 */
const PIECE_BYTES = 1024 * 1024
/** A synchronous write of a piece that takes longer than this, ms, moves the archive's file to asynchronous writes. */
const SLOW_WRITE_MS = 20
/**
 * After pause() yamux stops granting window, but the peer may still send what
 * it was granted: up to the stream's largest window (4 MiB in the mesh, at
 * most 16 MiB, yamux's MAX_STREAM_WINDOW). libp2p resets a stream whose
 * paused buffer passes maxReadBufferLength (4 MiB by default), so the client
 * raises it above that.
 */
const READ_BUFFER_BYTES = 32 * 1024 * 1024
/** The archive may outgrow the announced image size (tar headers of many small files), but not without bound: 4 × size + 256 MiB. */
const sizeLimit = (size: number): number => 4 * size + 256 * 1024 * 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// ---------------------------------------------------------------- API

/** Where images come from and go to: the agent's engine (dockerImageStore), or a stub in tests. */
export interface ImageStore {
  /** The image's size in bytes, or undefined when the engine does not hold it. */
  size: (id: string) => Promise<number | undefined>
  /** `docker save` of the image (by ID): a tar stream. */
  save: (id: string, signal?: AbortSignal) => Promise<NodeJS.ReadableStream>
  /** `docker load` of a verified tar file; resolves when the engine has loaded it, rejects with the engine's error. */
  load: (file: string, signal?: AbortSignal) => Promise<void>
  /**
   * `docker load` fed while the archive arrives (the engine loads once the
   * tar ends, and the end comes only after the check passed); resolves when
   * the engine has loaded it. Without it, `load` runs on the file afterwards.
   */
  loadStream?: (tar: NodeJS.ReadableStream, signal?: AbortSignal) => Promise<void>
  /** Take a verified archive the engine loaded, to serve it from (cache.ts); without, the file is removed. */
  keep?: (id: string, file: string) => Promise<void>
}

export type ImageServer = ProtocolServer

export interface ServeImagesInit {
  /** Transfers served at once; one more request is answered `busy` so the client tries another holder (default 1). */
  maxConcurrent?: number
  /** Test hook: change the bytes sent (e.g. flip one), to show the receiver refuses them. */
  tamper?: (chunk: Uint8Array, offset: number) => Uint8Array
  /** Whether image `id` may be served (false: withdrawn from the cluster by `shoal image rm`); default every image. */
  serves?: (id: string) => Promise<boolean>
}

export interface Peer {
  readonly name: string
  readonly peerId: string
  readonly addrs: readonly string[]
}

export interface FetchImageOptions {
  /** Where the tar is kept until verified (removed afterwards, also on failure). */
  tmpDir: string
  signal?: AbortSignal
  /** Bytes received so far, and the total the server announced (the image's size in its engine, an estimate of the archive's length). */
  onProgress?: (received: number, total: number | undefined) => void
}

/**
 * Why a transfer failed:
 * - `not-found`: the peer's engine does not hold the image;
 * - `busy`: the peer serves its limit of transfers already;
 * - `refused`: the archive failed its check (digests, layout), nothing was loaded;
 * - `broken`: the stream or the peer failed mid-way;
 * - `load`: the engine refused the verified archive;
 * - `unreachable`: the peer could not be reached (down, or not of this cluster);
 * - `invalid`: the request was malformed (an ID that is not `sha256:<64 hex>`).
 * `not-found`, `busy`, `refused`, `broken` and `unreachable` mean: try another
 * holder. `load` is this engine's failure (another holder's copy is the same
 * image), and `invalid` fails everywhere.
 */
export type ImageTransferKind = 'not-found' | 'busy' | 'refused' | 'broken' | 'load' | 'unreachable' | 'invalid'

const HTTP: Record<ImageTransferKind, readonly [reason: string, code: number]> = {
  'not-found': ['NotFound', 404],
  busy: ['ServiceUnavailable', 503],
  refused: ['BadGateway', 502],
  broken: ['BadGateway', 502],
  load: ['InternalError', 500],
  unreachable: ['ServiceUnavailable', 503],
  invalid: ['BadRequest', 400]
}

export class ImageTransferError extends ShoalError {
  readonly kind: ImageTransferKind

  constructor (kind: ImageTransferKind, message: string, options?: { cause?: unknown }) {
    const [reason, code] = HTTP[kind]
    super(reason, code, message, options)
    this.name = 'ImageTransferError'
    this.kind = kind
  }
}

/** The ImageStore of a Docker engine. */
export function dockerImageStore (docker: Docker): ImageStore {
  return {
    async size (id) {
      try {
        return (await docker.getImage(id).inspect()).Size
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined
        throw err
      }
    },
    async save (id, signal) {
      signal?.throwIfAborted()
      const tar = await docker.getImage(id).get()
      if (signal !== undefined) {
        if (signal.aborted) destroyStream(tar, signal.reason)
        else signal.addEventListener('abort', () => destroyStream(tar, signal.reason), { once: true })
      }
      return tar
    },
    async load (file, signal) {
      const progress = await docker.loadImage(createReadStream(file), { quiet: true, ...(signal !== undefined ? { abortSignal: signal } : {}) })
      await followProgress(progress)
    },
    async loadStream (tar, signal) {
      const progress = await docker.loadImage(tar, { quiet: true, ...(signal !== undefined ? { abortSignal: signal } : {}) })
      await followProgress(progress)
    }
  }
}

// ---------------------------------------------------------------- wire

type WireErrorKind = 'not-found' | 'busy' | 'invalid' | 'broken'
type Answer = { readonly ok: true, readonly size: number } | { readonly error: { readonly kind: WireErrorKind, readonly message: string } }

function parseRequest (bytes: Uint8Array): { id: string } | { problem: string } {
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes))
  } catch {
    return { problem: 'the request is not JSON' }
  }
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined
  if (typeof id !== 'string') return { problem: 'the request has no image id' }
  if (!IMAGE_ID.test(id)) return { problem: `${JSON.stringify(id.slice(0, 100))} is not an image ID (sha256: and 64 lowercase hex digits)` }
  return { id }
}

function parseAnswer (bytes: Uint8Array): Answer | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null) return undefined
  const a = raw as { ok?: unknown, size?: unknown, error?: unknown }
  if (a.ok === true && Number.isSafeInteger(a.size) && (a.size as number) >= 0) return { ok: true, size: a.size as number }
  const e = (typeof a.error === 'object' && a.error !== null ? a.error : undefined) as { kind?: unknown, message?: unknown } | undefined
  if (e === undefined || typeof e.message !== 'string') return undefined
  const kind = e.kind === 'not-found' || e.kind === 'busy' || e.kind === 'invalid' ? e.kind : 'broken'
  return { error: { kind, message: e.message.slice(0, 1000) } }
}

async function writeJson (lp: LengthPrefixedStream<Stream>, body: unknown, signal?: AbortSignal): Promise<void> {
  await lp.write(encoder.encode(JSON.stringify(body)), signal !== undefined ? { signal } : {})
}

// ---------------------------------------------------------------- server

interface ServerContext {
  readonly store: ImageStore
  readonly log: Logger
  readonly maxConcurrent: number
  readonly tamper: ServeImagesInit['tamper']
  readonly serves: NonNullable<ServeImagesInit['serves']>
  serving: number
}

/** Serve the images of `store` to the other agents of the cluster. */
export async function serveImages (node: MeshNode, store: ImageStore, log: Logger, opts: ServeImagesInit = {}): Promise<ImageServer> {
  const maxConcurrent = opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new InvalidConfigError([`maxConcurrent must be a positive integer, not ${String(maxConcurrent)}`])
  }
  const ctx: ServerContext = { store, log, maxConcurrent, tamper: opts.tamper, serves: opts.serves ?? (async () => true), serving: 0 }
  return await serveProtocol(node, IMAGE_PROTOCOL, async (stream, connection, ac) => {
    // The client reset the stream, or the connection died: stop exporting.
    const onClose = (evt: StreamCloseEvent): void => { if (evt.error !== undefined) ac.abort(evt.error) }
    stream.addEventListener('close', onClose)
    try {
      await serveOne(stream, connection.remotePeer.toString(), ctx, ac.signal)
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }, (err, aborted, connection) => {
    // The requester going away is routine; our engine failing is not.
    const peer = connection.remotePeer.toString()
    if (aborted) log.debug({ peer, err: err.message }, 'image transfer ended early')
    else log.warn({ peer, err: err.message }, 'image transfer failed')
  }, { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS })
}

async function serveOne (stream: Stream, peer: string, ctx: ServerContext, signal: AbortSignal): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  const refuse = async (kind: WireErrorKind, message: string): Promise<void> => {
    await writeJson(lp, { error: { kind, message } } satisfies Answer, signal)
    await stream.close({ signal })
  }
  const request = parseRequest((await lp.read({ signal: AbortSignal.any([signal, AbortSignal.timeout(ANSWER_TIMEOUT_MS)]) })).subarray())
  if ('problem' in request) {
    ctx.log.debug({ peer, problem: request.problem }, 'malformed image request')
    await refuse('invalid', request.problem)
    return
  }
  const { id } = request
  const image = shortId(id)
  if (ctx.serving >= ctx.maxConcurrent) {
    ctx.log.debug({ peer, image, serving: ctx.serving }, 'image request refused: busy')
    await refuse('busy', `serving ${ctx.serving} image transfers already, its limit`)
    return
  }
  ctx.serving++
  try {
    let size: number | undefined
    let tar: NodeJS.ReadableStream
    try {
      size = await ctx.store.size(id)
      if (size !== undefined && !await ctx.serves(id)) {
        await refuse('not-found', `image ${id} was removed from the cluster (shoal image rm)`)
        return
      }
      if (size === undefined) {
        await refuse('not-found', `no image ${id} here`)
        return
      }
      tar = await ctx.store.save(id, signal)
    } catch (err) {
      if (signal.aborted) throw err
      if ((err as { statusCode?: number }).statusCode === 404) {
        await refuse('not-found', `no image ${id} here`)
        return
      }
      ctx.log.warn({ peer, image, err: (err as Error).message }, 'cannot export image')
      await refuse('broken', `its engine cannot export the image: ${(err as Error).message}`)
      return
    }
    const started = Date.now()
    try {
      await writeJson(lp, { ok: true, size } satisfies Answer, signal)
    } catch (err) {
      destroyStream(tar)
      throw err
    }
    const bytes = await sendArchive(lp.unwrap(), tar, ctx.tamper, signal)
    await stream.close({ signal })
    ctx.log.info({ peer, image, bytes, ms: Date.now() - started }, 'sent image')
  } finally {
    ctx.serving--
  }
}

/** The archive's bytes onto the stream, as fast as the stream's window allows. Throws (and destroys `tar`) when either side fails. */
async function sendArchive (stream: Stream, tar: NodeJS.ReadableStream, tamper: ServeImagesInit['tamper'], signal: AbortSignal): Promise<number> {
  const onAbort = (): void => destroyStream(tar, signal.reason)
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  let offset = 0
  try {
    for await (const chunk of tar) {
      const bytes: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      const out = tamper !== undefined ? tamper(bytes, offset) : bytes
      offset += bytes.byteLength
      stream.send(out)
      while (stream.writeBufferLength > SEND_BUFFER_BYTES) await drained(stream, signal)
    }
    signal.throwIfAborted()
    return offset
  } catch (err) {
    destroyStream(tar)
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * The stream's next 'drain' (yamux got window for more), rejecting when it
 * closes first. Not `stream.onDrain()`: in @libp2p/utils 7.4.1 its promise
 * stays resolved after the first drain, so it stops waiting, and a fast
 * engine would queue the whole image in memory.
 */
async function drained (stream: Stream, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onDrain = (): void => done()
    const onClose = (evt: StreamCloseEvent): void => done(evt.error ?? new Error('the stream closed'))
    const onAbort = (): void => done(signal.reason)
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
  })
}

function destroyStream (s: NodeJS.ReadableStream, err?: unknown): void {
  const destroy = (s as { destroy?: (err?: Error) => void }).destroy
  destroy?.call(s, err instanceof Error ? err : undefined)
}

// ---------------------------------------------------------------- client

/**
 * Fetch image `id` (`sha256:<64 hex>`) from `peer` into `store`: resolves once
 * it is verified and loaded; throws ImageTransferError (an aborted `signal`
 * throws its reason, and a failing tmpDir its own file-system error). The
 * archive is checked while it arrives and loaded only when whole and sound;
 * the temp file is removed in every case.
 */
export async function fetchImage (node: MeshNode, peer: Peer, id: string, store: ImageStore, opts: FetchImageOptions): Promise<{ bytes: number }> {
  const hex = IMAGE_ID.exec(id)?.[1]
  if (hex === undefined) {
    throw new ImageTransferError('invalid', `cannot fetch ${JSON.stringify(id.slice(0, 100))} from node ${peer.name}: an image ID is "sha256:" and 64 lowercase hex digits`)
  }
  const { signal } = opts
  signal?.throwIfAborted()
  const image = shortId(id)
  await mkdir(opts.tmpDir, { recursive: true })
  const { connection, stream } = await openStream(node, peer, image, signal)
  // Whether the peer closed its side (sent everything): watched from the start, as it may come while the answer is read.
  let peerClosed = false
  stream.addEventListener('remoteCloseWrite', () => { peerClosed = true }, { once: true })
  const onAbort = (): void => { stream.abort(new Error('the fetch was aborted')) }
  signal?.addEventListener('abort', onAbort, { once: true })
  const file = join(opts.tmpDir, `image-${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}.tar`)
  let received = 0
  try {
    const size = await requestImage(stream, peer, image, id, signal)
    let bytes: number
    try {
      bytes = await receiveAndLoad(incoming(stream, () => peerClosed, () => received), file, hex, size, store, (n, total) => { received = n; opts.onProgress?.(n, total) }, signal)
    } catch (err) {
      signal?.throwIfAborted()
      if (err instanceof ArchiveRefusal) {
        throw new ImageTransferError('refused', err.check === 'digest'
          ? `the image ${image} from node ${peer.name} failed its digest check: ${err.message}`
          : `the image ${image} from node ${peer.name} is not a sound docker save archive: ${err.message}`)
      }
      if (err instanceof ArchiveTruncated) {
        throw new ImageTransferError('broken', `the transfer of image ${image} from node ${peer.name} was cut off: ${err.message}`)
      }
      if (err instanceof StreamBroken) {
        throw new ImageTransferError('broken', `the transfer of image ${image} from node ${peer.name} broke after ${err.received} bytes: ${err.message}`, { cause: err.cause })
      }
      if (err instanceof LoadFailed) {
        throw new ImageTransferError('load', `the engine refused image ${image} from node ${peer.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    await stream.close().catch(() => {})
    if (await store.size(id).catch(() => undefined) === undefined) {
      throw new ImageTransferError('load', `the engine loaded the archive of image ${image} from node ${peer.name} but does not hold the image`)
    }
    await store.keep?.(id, file)
    return { bytes }
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    if (signal?.aborted === true) throw signal.reason
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await connection.close().catch((err: Error) => { connection.abort(err) })
    await rm(file, { force: true })
  }
}

/**
 * Load an archive of image `id` that arrives from `source` (`shoal image
 * push` uploading through the API) into `store`, with the checks a peer's
 * transfer gets: refused (ImageTransferError `refused`) unless every byte is
 * pinned by the ID, loaded only when whole and sound, the temp file removed
 * in every case. `size` is what the sender says the image is (bounds the
 * archive's length).
 */
export async function loadArchive (source: AsyncIterable<Uint8Array>, id: string, size: number, store: ImageStore, opts: FetchImageOptions): Promise<{ bytes: number }> {
  const hex = IMAGE_ID.exec(id)?.[1]
  if (hex === undefined) throw new ImageTransferError('invalid', `${JSON.stringify(id.slice(0, 100))} is not an image ID: that is "sha256:" and 64 lowercase hex digits`)
  const image = shortId(id)
  await mkdir(opts.tmpDir, { recursive: true })
  const file = join(opts.tmpDir, `upload-${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}.tar`)
  try {
    let bytes: number
    try {
      bytes = await receiveAndLoad(source, file, hex, size, store, opts.onProgress, opts.signal)
    } catch (err) {
      opts.signal?.throwIfAborted()
      if (err instanceof ArchiveRefusal) {
        throw new ImageTransferError('refused', err.check === 'digest'
          ? `the archive of image ${image} failed its digest check: ${err.message}`
          : `the upload is not a sound docker save archive of image ${image}: ${err.message}`)
      }
      if (err instanceof ArchiveTruncated) throw new ImageTransferError('broken', `the upload of image ${image} was cut off: ${err.message}`)
      if (err instanceof LoadFailed) throw new ImageTransferError('load', `the engine refused image ${image}: ${err.message}`, { cause: err })
      throw err
    }
    if (await store.size(id).catch(() => undefined) === undefined) throw new ImageTransferError('load', `the engine loaded the archive of image ${image} but does not hold the image`)
    await store.keep?.(id, file)
    return { bytes }
  } finally {
    await rm(file, { force: true })
  }
}

/**
 * A connection of the transfer's own to the peer, and the stream on it. Not
 * the one the mesh shares: there, every heartbeat, Raft message and ping
 * queued behind megabytes of image data; on a slow link (100 Mbit/s in the
 * lab) libp2p's ping timed out, the shared connection was aborted
 * mid-transfer, and the members took each other for dead. The caller closes
 * the connection after the transfer.
 */
async function openStream (node: MeshNode, peer: Peer, image: string, signal: AbortSignal | undefined): Promise<{ connection: Connection, stream: Stream }> {
  const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
  const opts = { signal: signal !== undefined ? AbortSignal.any([signal, timeout]) : timeout }
  let connection: Connection | undefined
  try {
    const target = peer.addrs.length > 0
      ? peer.addrs.map(a => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peer.peerId}`))
      : peerIdFromString(peer.peerId)
    connection = await node.dial(target, { ...opts, force: true })
    const stream = await connection.newStream(IMAGE_PROTOCOL, { ...opts, maxOutboundStreams: MAX_STREAMS })
    stream.maxReadBufferLength = READ_BUFFER_BYTES
    return { connection, stream }
  } catch (err) {
    connection?.abort(err instanceof Error ? err : new Error(String(err)))
    signal?.throwIfAborted()
    throw new ImageTransferError('unreachable', `cannot reach node ${peer.name} to fetch image ${image}: ${explainDialError(err, timeout.aborted)}`, { cause: err })
  }
}

/** Send the request and read the answer: the size the server announced, or the refusal as an ImageTransferError. */
async function requestImage (stream: Stream, peer: Peer, image: string, id: string, signal: AbortSignal | undefined): Promise<number> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  let answer: Answer | undefined
  try {
    await writeJson(lp, { id }, signal)
    const deadline = AbortSignal.timeout(ANSWER_TIMEOUT_MS)
    answer = parseAnswer((await lp.read({ signal: signal !== undefined ? AbortSignal.any([signal, deadline]) : deadline })).subarray())
  } catch (err) {
    signal?.throwIfAborted()
    throw new ImageTransferError('broken', `node ${peer.name} did not answer the request for image ${image}: ${(err as Error).message}`, { cause: err })
  }
  if (answer === undefined) throw new ImageTransferError('broken', `node ${peer.name} sent a malformed answer to the request for image ${image}`)
  if ('error' in answer) {
    const { kind, message } = answer.error
    switch (kind) {
      case 'not-found': throw new ImageTransferError('not-found', `node ${peer.name} does not hold image ${image}`)
      case 'busy': throw new ImageTransferError('busy', `node ${peer.name} is busy (${message}); fetch image ${image} from another holder`)
      case 'invalid': throw new ImageTransferError('invalid', `node ${peer.name} refused the request for image ${image}: ${message}`)
      case 'broken': throw new ImageTransferError('broken', `node ${peer.name} cannot send image ${image}: ${message}`)
    }
  }
  // What the length-prefixed reader took beyond the answer goes back to the stream.
  lp.unwrap()
  return answer.size
}

/** The stream failed before the archive was whole. */
class StreamBroken extends Error {
  readonly received: number
  constructor (message: string, received: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StreamBroken'
    this.received = received
  }
}

/** The engine failed to load an archive that passed the check. */
class LoadFailed extends Error {}

/**
 * Receive the archive into `file`, checking it on the way, and into the
 * engine: while it arrives when the store takes a stream (the end held back
 * until the check passed), else from the file once whole and sound.
 * Resolves with its length once the engine holds it; throws ArchiveRefusal,
 * ArchiveTruncated or StreamBroken from receiving (the engine then gets a
 * broken tar and loads nothing), LoadFailed from the engine.
 */
async function receiveAndLoad (source: AsyncIterable<Uint8Array>, file: string, idHex: string, size: number, store: ImageStore, onProgress: FetchImageOptions['onProgress'], signal: AbortSignal | undefined): Promise<number> {
  const check = new ArchiveCheck(idHex)
  const limit = sizeLimit(size)
  const input = store.loadStream !== undefined ? new PassThrough({ highWaterMark: 4 * 1024 * 1024 }) : undefined
  const loaded = input !== undefined ? store.loadStream!(input, signal) : undefined
  loaded?.catch(() => {})
  const held: Uint8Array[] = []
  let forwarded = 0
  /** Give the engine what is held, up to `upTo` bytes from the start. */
  const forward = async (upTo: number): Promise<void> => {
    while (input !== undefined && held.length > 0 && forwarded < upTo) {
      const next = held[0]!
      const part = forwarded + next.byteLength <= upTo ? next : next.subarray(0, upTo - forwarded)
      if (part === next) held.shift()
      else held[0] = next.subarray(part.byteLength)
      forwarded += part.byteLength
      if (!input.write(part)) {
        // The engine may fail instead of taking more: its error, not a wait for ever.
        await Promise.race([once(input, 'drain'), loaded!.then(() => { throw new LoadFailed('the engine ended the load early') }, (err: Error) => { throw new LoadFailed(err.message) })])
      }
    }
  }
  let fh: ArchiveFile | undefined
  let received = 0
  try {
    fh = await ArchiveFile.create(file)
    for await (const chunk of source) {
      received += chunk.byteLength
      if (received > limit) throw new ArchiveRefusal('format', `it is longer than ${limit} bytes, for an image of ${size} bytes`)
      onProgress?.(received, size)
      await Promise.all([fh.write(chunk), check.write(chunk)])
      if (input !== undefined) {
        held.push(chunk)
        await forward(check.entriesEnd)
      }
    }
    await check.end()
    await fh.close()
    fh = undefined
    if (input === undefined) {
      await store.load(file, signal).catch((err: Error) => { throw new LoadFailed(err.message, { cause: err }) })
    } else {
      await forward(Infinity)
      input.end()
      await loaded!.catch((err: Error) => { throw new LoadFailed(err.message, { cause: err }) })
    }
    return received
  } catch (err) {
    // A broken tar to the engine: it loads nothing, and throws away what it unpacked.
    input?.destroy(err instanceof Error ? err : new Error(String(err)))
    await loaded?.catch(() => {})
    throw err
  } finally {
    check.destroy()
    await fh?.close().catch(() => {})
  }
}

/**
 * The received archive's copy on disk, written synchronously: the promise
 * API cost the receiving agent 0.2 CPU-s more per 100 MB here (a thread-pool
 * hand-off per piece, and the pieces kept alive meanwhile), a quarter of all
 * it spends receiving. A write that holds the event loop longer than
 * SLOW_WRITE_MS (a disk that fell behind, the kernel throttling dirty pages)
 * switches the file to the promise API for the rest of the archive.
 */
class ArchiveFile {
  readonly #fh: FileHandle
  #slow = false

  private constructor (fh: FileHandle) {
    this.#fh = fh
  }

  static async create (path: string): Promise<ArchiveFile> {
    return new ArchiveFile(await open(path, 'wx', 0o600))
  }

  async write (bytes: Uint8Array): Promise<void> {
    if (this.#slow) {
      for (let at = 0; at < bytes.byteLength;) at += (await this.#fh.write(bytes, at)).bytesWritten
      return
    }
    const t0 = performance.now()
    for (let at = 0; at < bytes.byteLength;) at += writeSync(this.#fh.fd, bytes, at)
    if (performance.now() - t0 > SLOW_WRITE_MS) this.#slow = true
  }

  async close (): Promise<void> {
    await this.#fh.close()
  }
}

/**
 * The stream's data as it arrives: pauses the stream while more than PAUSE_AT
 * waits here, so yamux stops granting the sender window. Ends when the peer
 * closed its side after sending everything; throws StreamBroken when it reset
 * the stream or the connection went away first.
 */
async function * incoming (stream: Stream, peerClosed: () => boolean, received: () => number): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = []
  let queued = 0
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    for (const buf of data instanceof Uint8Array ? [data] : data) {
      queue.push(buf)
      queued += buf.byteLength
    }
    // In a microtask, not now: when resume() is what dispatched this data, it
    // tells yamux to resume after dispatching, which would undo a pause made
    // here (@libp2p/utils 7.4.1) and let the peer send without limit.
    if (queued >= PAUSE_AT) queueMicrotask(maybePause)
    notify()
  }
  const maybePause = (): void => {
    if (queued >= PAUSE_AT && stream.readStatus === 'readable') stream.pause()
  }
  let closeError: Error | undefined
  const onClose = (evt: StreamCloseEvent): void => {
    closeError = evt.error
    notify()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', notify)
  stream.addEventListener('end', notify)
  stream.addEventListener('close', onClose)
  /** The queue's first frames, joined up to PIECE_BYTES. */
  const take = (): Uint8Array | undefined => {
    if (queue.length <= 1) return queue.shift()
    const parts: Uint8Array[] = []
    let length = 0
    while (queue.length > 0 && length + queue[0]!.byteLength <= PIECE_BYTES) {
      const part = queue.shift()!
      parts.push(part)
      length += part.byteLength
    }
    return parts.length === 0 ? queue.shift() : parts.length === 1 ? parts[0] : Buffer.concat(parts, length)
  }
  try {
    for (;;) {
      const next = take()
      if (next !== undefined) {
        queued -= next.byteLength
        if (queued <= RESUME_AT && stream.readStatus === 'paused') {
          try {
            stream.resume()
          } catch {
            // The connection is gone (resume() tells yamux, which cannot send any more); the checks below say so.
          }
        }
        yield next
        continue
      }
      if (stream.status === 'reset') throw new StreamBroken('the sender reset the stream (its engine or agent failed)', received())
      if (stream.status === 'aborted') throw new StreamBroken(`the stream was aborted${closeError !== undefined ? `: ${closeError.message}` : ''}`, received(), { cause: closeError })
      if (!peerClosed() && stream.remoteWriteStatus === 'closed') throw new StreamBroken('the connection closed before the archive was complete', received())
      if (peerClosed() && stream.readBufferLength === 0) return
      await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('remoteCloseWrite', notify)
    stream.removeEventListener('end', notify)
    stream.removeEventListener('close', onClose)
  }
}

function explainDialError (err: unknown, timedOut: boolean): string {
  const text = describeError(err)
  if (text.includes(CLUSTER_KEY_MISMATCH)) return 'the secure handshake failed: the two nodes do not hold the same cluster key (is it a member of another cluster?)'
  if (/UnsupportedProtocol|protocol selection failed/i.test(text)) return `it does not serve ${IMAGE_PROTOCOL}`
  if (/ECONNREFUSED/.test(text)) return 'connection refused (is its agent running?)'
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'the host is unreachable'
  if (timedOut || /ETIMEDOUT|timeout/i.test(text)) return `no answer within ${DIAL_TIMEOUT_MS / 1000} s`
  return text.split(' | ')[0] ?? 'the connection failed'
}

function describeError (err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err; e instanceof Error && parts.length < 10; e = e.cause) {
    parts.push(`${e.name}: ${e.message}`)
    if (e instanceof AggregateError) parts.push(...e.errors.map(describeError))
  }
  return parts.length > 0 ? parts.join(' | ') : String(err)
}
