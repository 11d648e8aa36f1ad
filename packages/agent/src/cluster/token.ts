import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { MalformedTokenError } from '../errors.ts'

/**
 * A cluster is its secret: 32 random bytes made when the first agent starts.
 * From it derive the cluster id (public, shown everywhere), the libp2p
 * pre-shared key (so a machine without the secret cannot open a connection) and
 * the join token (the secret plus a checksum, so a mistyped token is told apart
 * from a wrong one).
 */
export interface ClusterSecret {
  readonly id: string
  readonly secret: Uint8Array
}

const TOKEN_PREFIX = 'shoal1_'
const SECRET_BYTES = 32
const CHECK_BYTES = 4

function sha256 (label: string, data: Uint8Array): Buffer {
  return createHash('sha256').update(label).update('\0').update(data).digest()
}

export function clusterFromSecret (secret: Uint8Array): ClusterSecret {
  if (secret.length !== SECRET_BYTES) throw new Error(`cluster secret must be ${SECRET_BYTES} bytes`)
  return { id: sha256('shoal cluster id', secret).subarray(0, 8).toString('hex'), secret: Uint8Array.from(secret) }
}

export function newCluster (): ClusterSecret {
  return clusterFromSecret(randomBytes(SECRET_BYTES))
}

export function encodeToken (cluster: ClusterSecret): string {
  const check = sha256('shoal token check', cluster.secret).subarray(0, CHECK_BYTES)
  return TOKEN_PREFIX + Buffer.concat([cluster.secret, check]).toString('base64url')
}

export function decodeToken (token: string): ClusterSecret {
  const t = token.trim()
  if (!t.startsWith(TOKEN_PREFIX)) throw new MalformedTokenError(`it must start with ${TOKEN_PREFIX}`)
  const body = t.slice(TOKEN_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new MalformedTokenError('it contains characters a token never has')
  const raw = Buffer.from(body, 'base64url')
  if (raw.length !== SECRET_BYTES + CHECK_BYTES) throw new MalformedTokenError('it has the wrong length')
  const secret = raw.subarray(0, SECRET_BYTES)
  const check = sha256('shoal token check', secret).subarray(0, CHECK_BYTES)
  if (!timingSafeEqual(check, raw.subarray(SECRET_BYTES))) throw new MalformedTokenError('its checksum does not match')
  return clusterFromSecret(secret)
}

/** The mesh's pre-shared key (mesh/cluster-key.ts: in every noise handshake's prologue): 32 bytes derived from the cluster secret. */
export function meshKey (cluster: ClusterSecret): Uint8Array {
  return sha256('shoal mesh key', cluster.secret)
}
