import { noise } from '@libp2p/noise'
import type { NoiseComponents } from '@libp2p/noise'
import type { ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface'
import { meshKey, type ClusterSecret } from '../cluster/token.ts'

/**
 * The cluster key guards every mesh connection through noise's prologue:
 * both sides mix the same bytes, derived from the cluster key, into the
 * handshake hash, which authenticates every encrypted handshake message. A
 * machine without the token can start a handshake but not finish one, with
 * a member in either role: the first message it must check or make under
 * that hash fails, and the connection ends before any protocol opens. Once
 * the handshake is done noise alone encrypts and authenticates, so the
 * cluster key costs nothing per byte.
 *
 * A pnet-style layer under noise (every byte, the handshake included,
 * encrypted under the cluster key: first @libp2p/pnet's xsalsa20, then
 * AES-256-CTR through node:crypto) hid a little more from a stranger who
 * connects: that the port speaks libp2p noise, and the answering member's
 * peer ID, which noise's second message carries under a key the stranger
 * can derive. It cost more than noise itself: 0.5 CPU-s per 100 MB on the
 * sending agent and 0.3 on the receiving one, the largest share of an
 * image transfer's CPU time beside the engines' own work.
 */

/** What the peer gets wrong when it lacks the cluster key; dial errors lose the class and keep the message, so callers look for this text. */
export const CLUSTER_KEY_MISMATCH = 'the peer does not hold this cluster\'s key'

/** The peer's handshake failed under the cluster key's prologue: it holds another cluster's secret, or is no Shoal agent. */
export class ClusterKeyMismatchError extends Error {
  static readonly NAME = 'ClusterKeyMismatchError'
  constructor (options?: { cause?: unknown }) {
    super(`${CLUSTER_KEY_MISMATCH} (the secure handshake failed)`, options)
    this.name = ClusterKeyMismatchError.NAME
  }
}

/** Bytes both sides of every mesh handshake mix in: a label and the mesh key. */
function prologue (cluster: ClusterSecret): Uint8Array {
  return Buffer.concat([Buffer.from('shoal mesh prologue 1\n'), meshKey(cluster)])
}

/**
 * Noise fails the message it cannot authenticate: the responder's (stage 1)
 * for a dialer, the dialer's (stage 2) for a responder. Under a wrong
 * prologue that is the first check either side makes.
 */
function isPrologueMismatch (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown }
  return e?.code === 'ERR_INVALID_CRYPTO_EXCHANGE' && typeof e.message === 'string' && /^handshake stage [12] validation fail/.test(e.message)
}

/** libp2p's noise under the cluster key's prologue, telling a peer without the key apart from other handshake failures. */
export function clusterNoise (cluster: ClusterSecret): (components: NoiseComponents) => ConnectionEncrypter {
  const make = noise({ prologueBytes: prologue(cluster) })
  return components => {
    const inner = make(components)
    const guard = async (secure: Promise<SecuredConnection>): Promise<SecuredConnection> => {
      try {
        return await secure
      } catch (err) {
        throw isPrologueMismatch(err) ? new ClusterKeyMismatchError({ cause: err }) : err
      }
    }
    return {
      protocol: inner.protocol,
      secureInbound: async (connection: MessageStream, options?: SecureConnectionOptions) => await guard(inner.secureInbound(connection, options)),
      secureOutbound: async (connection: MessageStream, options?: SecureConnectionOptions) => await guard(inner.secureOutbound(connection, options))
    }
  }
}
