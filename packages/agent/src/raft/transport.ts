import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { parseRaftMessage, type Message, type NodeId } from '@shoal/core/raft/index.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import type { Logger } from '../log.ts'

/**
 * Raft messages between agents: one long-lived libp2p stream per peer and
 * direction, each frame a length-prefixed JSON array of messages. Delivery is
 * best effort, which is all Raft asks: a failed stream drops what it carried
 * and is reopened by the next send.
 */
export const RAFT_PROTOCOL = '/shoal/raft/1'

/** Largest frame: a snapshot of the whole store travels in one. */
const MAX_FRAME_BYTES = 256 * 1024 * 1024
/** Frames queued to one peer before new ones are dropped (the peer is too slow or gone). */
const MAX_QUEUED_FRAMES = 1024

export interface RaftTransportComponents {
  readonly node: MeshNode
  /** The peer a Raft node id (member name) lives on, if known. */
  readonly resolve: (id: NodeId) => PeerId | undefined
  /** The member name of a connected peer, to check who a message is from. */
  readonly nameOf: (peer: PeerId) => NodeId | undefined
  readonly log: Logger
}

export interface RaftTransport {
  start: (deliver: (m: Message) => void) => Promise<void>
  send: (messages: readonly Message[]) => void
  stop: () => Promise<void>
}

interface Outbound { stream: Promise<LengthPrefixedStream<Stream>> | undefined, chain: Promise<void>, queued: number }

export function createRaftTransport (c: RaftTransportComponents): RaftTransport {
  const out = new Map<NodeId, Outbound>()
  let stopped = false
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()

  const openStream = async (to: NodeId): Promise<LengthPrefixedStream<Stream>> => {
    const peer = c.resolve(to)
    if (peer === undefined) throw new Error(`no peer known for ${to}`)
    const stream = await c.node.dialProtocol(peer, RAFT_PROTOCOL, { signal: AbortSignal.timeout(5000) })
    return lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  }

  const sendTo = (to: NodeId, batch: Message[]): void => {
    let o = out.get(to)
    if (o === undefined) {
      o = { stream: undefined, chain: Promise.resolve(), queued: 0 }
      out.set(to, o)
    }
    if (o.queued >= MAX_QUEUED_FRAMES) return
    const target = o
    target.queued++
    const frame = encoder.encode(JSON.stringify(batch))
    target.chain = target.chain.then(async () => {
      try {
        target.stream ??= openStream(to)
        const lp = await target.stream
        await lp.write(frame)
      } catch (err) {
        target.stream = undefined
        if (!stopped) c.log.debug({ to, err: (err as Error).message }, 'raft send failed')
      } finally {
        target.queued--
      }
    })
  }

  const receive = async (stream: Stream, from: PeerId, deliver: (m: Message) => void): Promise<void> => {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const sender = c.nameOf(from)
    for (;;) {
      let frame
      try {
        frame = await lp.read()
      } catch {
        return
      }
      let batch: unknown
      try {
        batch = JSON.parse(decoder.decode(frame.subarray()))
      } catch {
        c.log.warn({ peer: from.toString() }, 'dropped a raft frame that is not JSON')
        continue
      }
      if (!Array.isArray(batch)) continue
      for (const raw of batch) {
        const parsed = parseRaftMessage(raw)
        if (!parsed.ok) {
          c.log.warn({ peer: from.toString(), error: parsed.error }, 'dropped a malformed raft message')
          continue
        }
        // A member speaks only for itself.
        const m = parsed.value
        if (m.from !== (sender ?? c.nameOf(from))) continue
        deliver(m)
      }
    }
  }

  return {
    async start (deliver) {
      await c.node.handle(RAFT_PROTOCOL, (stream, connection) => {
        receive(stream, connection.remotePeer, deliver).catch(() => {})
      }, { maxInboundStreams: 64 })
    },
    send (messages) {
      if (stopped) return
      const byPeer = new Map<NodeId, Message[]>()
      for (const m of messages) {
        const list = byPeer.get(m.to)
        if (list === undefined) byPeer.set(m.to, [m])
        else list.push(m)
      }
      for (const [to, batch] of byPeer) sendTo(to, batch)
    },
    async stop () {
      stopped = true
      await c.node.unhandle(RAFT_PROTOCOL).catch(() => {})
      for (const o of out.values()) {
        const s = await o.stream?.catch(() => undefined)
        await s?.unwrap().close().catch(() => {})
      }
      out.clear()
    }
  }
}
