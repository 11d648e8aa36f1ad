import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { ShoalError } from '@shoal/core'
import type { MeshNode } from '../mesh/mesh.ts'
import { NotLeaderError, ProposalDroppedError, type RaftDriver } from '../raft/driver.ts'
import type { Logger } from '../log.ts'

/**
 * `/shoal/forward/1`: a follower hands a write (or a linearizable-read
 * request) to the leader. The leader answers with where the entry landed
 * (index, term) as soon as it is appended, or with its read index; the
 * follower then waits for its own replica to apply that index, which gives
 * read-your-writes on the agent that was asked.
 */
export const FORWARD_PROTOCOL = '/shoal/forward/1'

const MAX_REQUEST_BYTES = 16 * 1024 * 1024

export type ForwardRequest = { readonly kind: 'propose', readonly data: string } | { readonly kind: 'read' }
export type ForwardResponse =
  | { readonly ok: true, readonly index: number, readonly term: number }
  | { readonly ok: false, readonly reason: string, readonly message: string, readonly leader: string | null }

export async function serveForward (stream: Stream, driver: RaftDriver, log: Logger): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
  const signal = AbortSignal.timeout(30_000)
  const req = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as ForwardRequest
  let res: ForwardResponse
  try {
    if (req.kind === 'propose' && typeof req.data === 'string') {
      res = { ok: true, ...(await driver.proposeAppended(req.data)) }
    } else if (req.kind === 'read') {
      res = { ok: true, index: await driver.readIndex(), term: 0 }
    } else {
      res = { ok: false, reason: 'BadRequest', message: 'malformed forward request', leader: null }
    }
  } catch (err) {
    const e = err as Error
    res = { ok: false, reason: err instanceof ShoalError ? err.reason : 'InternalError', message: e.message, leader: err instanceof NotLeaderError ? err.leader : null }
    if (!(err instanceof ShoalError)) log.warn({ err: e.message }, 'forwarded request failed')
  }
  await lp.write(new TextEncoder().encode(JSON.stringify(res)), { signal })
  await stream.close({ signal })
}

export async function requestForward (node: MeshNode, leader: PeerId, req: ForwardRequest, signal: AbortSignal): Promise<{ index: number, term: number }> {
  const stream = await node.dialProtocol(leader, FORWARD_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
  await lp.write(new TextEncoder().encode(JSON.stringify(req)), { signal })
  const res = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as ForwardResponse
  await stream.close({ signal }).catch(() => {})
  if (res.ok) return { index: res.index, term: res.term }
  if (res.reason === 'NotLeader') throw new NotLeaderError(res.leader)
  if (res.reason === 'ProposalDropped') throw new ProposalDroppedError(0)
  throw new ShoalError(res.reason, 503, res.message)
}
