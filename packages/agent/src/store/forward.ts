import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { ShoalError } from '@shoal/core'
import type { MeshNode } from '../mesh/mesh.ts'
import { NotLeaderError, ProposalDroppedError, type RaftDriver } from '../raft/driver.ts'
import type { Logger } from '../log.ts'

/**
 * `/shoal/forward/2`: a follower hands writes (and linearizable-read
 * requests) to the leader over one long-lived stream, many in flight at once,
 * each frame tagged with an id. The leader answers with where the entry
 * landed (index, term) as soon as it is appended, or with its read index; the
 * follower then waits for its own replica to apply that index, which gives
 * read-your-writes on the agent that was asked.
 */
export const FORWARD_PROTOCOL = '/shoal/forward/2'

const MAX_FRAME_BYTES = 16 * 1024 * 1024

export type ForwardRequest = { readonly kind: 'propose', readonly data: string } | { readonly kind: 'read' }
type RequestFrame = ForwardRequest & { readonly id: number }
type ResponseFrame = { readonly id: number } & (
  | { readonly ok: true, readonly index: number, readonly term: number }
  | { readonly ok: false, readonly reason: string, readonly message: string, readonly leader: string | null })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Leader side: answer every request on the stream, concurrently, in whatever order they finish. */
export async function serveForward (stream: Stream, driver: RaftDriver, log: Logger): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  let writes = Promise.resolve()
  const answer = async (req: RequestFrame): Promise<void> => {
    let res: ResponseFrame
    try {
      if (req.kind === 'propose' && typeof req.data === 'string') {
        res = { id: req.id, ok: true, ...(await driver.proposeAppended(req.data)) }
      } else if (req.kind === 'read') {
        res = { id: req.id, ok: true, index: await driver.readIndex(), term: 0 }
      } else {
        res = { id: req.id, ok: false, reason: 'BadRequest', message: 'malformed forward request', leader: null }
      }
    } catch (err) {
      const e = err as Error
      res = { id: req.id, ok: false, reason: err instanceof ShoalError ? err.reason : 'InternalError', message: e.message, leader: err instanceof NotLeaderError ? err.leader : null }
      if (!(err instanceof ShoalError)) log.warn({ err: e.message }, 'forwarded request failed')
    }
    const frame = encoder.encode(JSON.stringify(res))
    writes = writes.then(async () => { await lp.write(frame) }).catch(() => {})
  }
  for (;;) {
    let req: RequestFrame
    try {
      req = JSON.parse(decoder.decode((await lp.read()).subarray())) as RequestFrame
    } catch {
      return
    }
    if (typeof req !== 'object' || req === null || !Number.isSafeInteger(req.id)) return
    void answer(req)
  }
}

interface Pending { resolve: (r: { index: number, term: number }) => void, reject: (e: Error) => void }
interface Channel { readonly lp: Promise<LengthPrefixedStream<Stream>>, readonly pending: Map<number, Pending> }

export interface ForwardClient {
  request: (leader: PeerId, req: ForwardRequest, signal: AbortSignal) => Promise<{ index: number, term: number }>
  close: () => void
}

/** Follower side: one channel per leader, opened on first use and dropped when it fails. */
export function createForwardClient (node: MeshNode): ForwardClient {
  const channels = new Map<string, Channel>()
  let nextId = 1

  const drop = (key: string, ch: Channel, err: Error): void => {
    if (channels.get(key) === ch) channels.delete(key)
    for (const p of ch.pending.values()) p.reject(err)
    ch.pending.clear()
  }

  const open = (leader: PeerId): Channel => {
    const key = leader.toString()
    const existing = channels.get(key)
    if (existing !== undefined) return existing
    const lp = node.dialProtocol(leader, FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5000) }).then(s => lpStream(s, { maxDataLength: MAX_FRAME_BYTES }))
    const ch: Channel = { lp, pending: new Map() }
    channels.set(key, ch)
    void (async () => {
      try {
        const stream = await lp
        for (;;) {
          const res = JSON.parse(decoder.decode((await stream.read()).subarray())) as ResponseFrame
          const p = ch.pending.get(res.id)
          if (p === undefined) continue
          ch.pending.delete(res.id)
          if (res.ok) p.resolve({ index: res.index, term: res.term })
          else if (res.reason === 'NotLeader') p.reject(new NotLeaderError(res.leader))
          else if (res.reason === 'ProposalDropped') p.reject(new ProposalDroppedError(0))
          else p.reject(new ShoalError(res.reason, 503, res.message))
        }
      } catch (err) {
        drop(key, ch, new ShoalError('ServiceUnavailable', 503, `the forward channel to the leader failed: ${(err as Error).message}`))
      }
    })()
    return ch
  }

  return {
    async request (leader, req, signal) {
      const ch = open(leader)
      const id = nextId++
      const result = new Promise<{ index: number, term: number }>((resolve, reject) => {
        ch.pending.set(id, { resolve, reject })
        signal.addEventListener('abort', () => {
          if (ch.pending.delete(id)) reject(new ShoalError('ServiceUnavailable', 503, 'the leader did not answer in time'))
        }, { once: true })
      })
      // Rejected by `drop` while we may still be opening the stream: handled below, never left unhandled.
      result.catch(() => {})
      const stream = await ch.lp.catch((err: Error) => { drop(leader.toString(), ch, err); throw err })
      await stream.write(encoder.encode(JSON.stringify({ ...req, id })), { signal })
      return await result
    },
    close () {
      for (const [key, ch] of channels) {
        drop(key, ch, new ShoalError('ServiceUnavailable', 503, 'closing'))
        void ch.lp.then(async s => { await s.unwrap().close() }).catch(() => {})
      }
    }
  }
}
