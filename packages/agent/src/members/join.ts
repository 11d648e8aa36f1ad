import { lpStream } from '@libp2p/utils'
import type { Connection, Stream } from '@libp2p/interface'
import type { Member } from '@shoal/core'
import type { KnownPeer } from '../data-dir.ts'

/**
 * `/shoal/join/1`: a newcomer (or a restarted member) that has connected to one
 * member asks it for the member list, so it can dial everyone at once instead
 * of waiting for heartbeats to trickle in. The member refuses a name that a
 * different live peer already holds. One JSON request, one JSON answer.
 */
export const JOIN_PROTOCOL = '/shoal/join/1'

export interface JoinRequest { readonly name: string, readonly peerId: string }
export type JoinResponse =
  | { readonly ok: true, readonly clusterId: string, readonly members: KnownPeer[] }
  | { readonly ok: false, readonly error: string }

const MAX_MESSAGE_BYTES = 1024 * 1024
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Answer a join request from what the local table knows. */
export function answerJoin (req: JoinRequest, clusterId: string, members: readonly Member[]): JoinResponse {
  const holder = members.find(m => m.name === req.name)
  if (holder !== undefined && holder.peerId !== req.peerId && (holder.state === 'alive' || holder.state === 'suspect')) {
    return { ok: false, error: `node name ${JSON.stringify(req.name)} is already used by a live member (peer ${holder.peerId}); give this agent another --name` }
  }
  return {
    ok: true,
    clusterId,
    members: members.filter(m => m.state !== 'left' && m.peerId !== req.peerId).map(m => ({ name: m.name, peerId: m.peerId, addrs: m.addrs }))
  }
}

export async function serveJoin (stream: Stream, answer: (req: JoinRequest) => JoinResponse, signal: AbortSignal): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
  const raw = JSON.parse(decoder.decode((await lp.read({ signal })).subarray())) as Partial<JoinRequest>
  const res: JoinResponse = typeof raw.name === 'string' && typeof raw.peerId === 'string'
    ? answer({ name: raw.name, peerId: raw.peerId })
    : { ok: false, error: 'malformed join request' }
  await lp.write(encoder.encode(JSON.stringify(res)), { signal })
  await stream.close({ signal })
}

export async function requestJoin (conn: Connection, req: JoinRequest, signal: AbortSignal): Promise<JoinResponse> {
  const stream = await conn.newStream(JOIN_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
  await lp.write(encoder.encode(JSON.stringify(req)), { signal })
  const res = JSON.parse(decoder.decode((await lp.read({ signal })).subarray())) as JoinResponse
  await stream.close({ signal }).catch(() => {})
  return res
}
