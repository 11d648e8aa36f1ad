import { lookup } from 'node:dns/promises'
import type { Connection } from '@libp2p/interface'
import type { MeshNode } from '../mesh/mesh.ts'
import { ipMultiaddr } from '../mesh/mesh.ts'
import { JoinFailedError } from '../errors.ts'
import { CLUSTER_KEY_MISMATCH } from '../mesh/cluster-key.ts'
import { DEFAULT_MESH_PORT, parseHostPort } from '../config.ts'

/** How long a join may take to connect before it is reported unreachable, ms. */
export const JOIN_DIAL_TIMEOUT_MS = 10_000

/**
 * Connect to the member at `HOST[:PORT]` whose peer id we do not know yet.
 * Failures become one sentence a person can act on.
 */
export async function dialSeed (node: MeshNode, address: string, signal?: AbortSignal): Promise<Connection> {
  const { host, port } = parseHostPort(address, DEFAULT_MESH_PORT)
  let ip: string
  try {
    ip = (await lookup(host)).address
  } catch (err) {
    throw new JoinFailedError(address, `cannot resolve host ${JSON.stringify(host)}`, { cause: err })
  }
  const timeout = AbortSignal.timeout(JOIN_DIAL_TIMEOUT_MS)
  try {
    return await node.dial(ipMultiaddr(ip, port), { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
  } catch (err) {
    if (process.env.SHOAL_DEBUG !== undefined) process.stderr.write(`dial ${address}: ${describe(err)}\n`)
    throw new JoinFailedError(address, explainDialError(err, timeout.aborted), { cause: err })
  }
}

function explainDialError (err: unknown, timedOut: boolean): string {
  const text = describe(err)
  if (text.includes(CLUSTER_KEY_MISMATCH)) return 'the secure handshake failed: the token is not this cluster\'s'
  if (/ECONNRESET|EPIPE/.test(text)) return 'the connection was reset (is that a Shoal agent?)'
  if (/ECONNREFUSED/.test(text)) return 'connection refused (is a Shoal agent running there, on that port?)'
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'the host is unreachable'
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'the host name does not resolve'
  if (timedOut || /ETIMEDOUT|aborted|timeout/i.test(text)) return `no answer within ${JOIN_DIAL_TIMEOUT_MS / 1000} s (wrong address, or a firewall?)`
  return `the connection failed (${text.split(' | ')[0]})`
}

function describe (err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err; e instanceof Error && parts.length < 10; e = e.cause) {
    parts.push(`${e.name}: ${e.message} ${(e as NodeJS.ErrnoException).code ?? ''}`)
    if (e instanceof AggregateError) parts.push(...e.errors.map(describe))
  }
  return parts.join(' | ')
}
