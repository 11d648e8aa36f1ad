import { preSharedKey } from '@libp2p/pnet'
import { byteStream } from '@libp2p/utils'
import type { AbortOptions, ConnectionProtector, MessageStream } from '@libp2p/interface'
import { timingSafeEqual } from 'node:crypto'
import { pnetKey, type ClusterSecret } from '../cluster/token.ts'
import { freeCiphers, sliceXSalsa20Updates } from './xsalsa20-slices.ts'

/**
 * Sent by both sides right after the pre-shared-key stream starts. Under the
 * right key each side decrypts the other's copy to these bytes; under a wrong
 * key they decrypt to noise. Without this check a wrong key shows up only as
 * noise handshake garbage, which may hang until a timeout.
 */
const CLUSTER_CHECK = new TextEncoder().encode('shoal cluster ok')

/** The peer's pre-shared key is not ours: it holds another cluster's secret, or is no Shoal agent. */
export class ClusterKeyMismatchError extends Error {
  static readonly NAME = 'ClusterKeyMismatchError'
  constructor () {
    super('the peer does not hold this cluster\'s key')
    this.name = ClusterKeyMismatchError.NAME
  }
}

/** @libp2p/pnet, plus a check that both ends really share the key. */
class CheckedPreSharedKey implements ConnectionProtector {
  readonly #inner: ConnectionProtector

  constructor (inner: ConnectionProtector) {
    this.#inner = inner
  }

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const boxed = await this.#inner.protect(connection, options)
    // pnet never frees the connection's two ciphers: their state stays in xsalsa20's memory, which holds only so many (xsalsa20-slices.ts).
    boxed.addEventListener('close', () => { freeCiphers(boxed) }, { once: true })
    const bytes = byteStream(boxed)
    const [theirs] = await Promise.all([
      bytes.read({ bytes: CLUSTER_CHECK.length, ...options }),
      bytes.write(CLUSTER_CHECK, options)
    ])
    if (!timingSafeEqual(theirs.subarray(), CLUSTER_CHECK)) {
      const err = new ClusterKeyMismatchError()
      boxed.abort(err)
      throw err
    }
    return bytes.unwrap()
  }
}

export function clusterKeyProtector (cluster: ClusterSecret): () => ConnectionProtector {
  sliceXSalsa20Updates()
  const inner = preSharedKey({ psk: pnetKey(cluster) })
  return () => new CheckedPreSharedKey(inner())
}
