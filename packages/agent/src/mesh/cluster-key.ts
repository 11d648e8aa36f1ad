import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual, type Cipher, type Decipher } from 'node:crypto'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { AbortOptions, ConnectionProtector, Logger, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import { meshKey, type ClusterSecret } from '../cluster/token.ts'

/**
 * The cluster key's layer under every mesh connection: a private network in
 * the way of libp2p's pnet (every byte, the noise handshake included,
 * encrypted with a key only members hold), so a machine without the token
 * cannot even begin a handshake. Each side sends a magic and a random nonce
 * in the clear; each direction is then AES-256-CTR under a key derived
 * (HKDF-SHA256) from the cluster key and its sender's nonce. Then both
 * sides send CLUSTER_CHECK through it: under the right key each decrypts
 * the other's copy to these bytes, under a wrong key to noise, which
 * without the check shows up only as noise handshake garbage, hanging until
 * a timeout. Like pnet it hides, and noise above it authenticates.
 *
 * @libp2p/pnet does the same with xsalsa20 from a WebAssembly build, which
 * was the slowest step of an image transfer (340 MB/s against AES-CTR's
 * 2,200 MB/s through node:crypto on this machine) and corrupted its memory
 * under big writes and many connections (libp2p/js-libp2p#3585).
 */

/** Sent in the clear before the nonce: which protection this side speaks. */
const MAGIC = new TextEncoder().encode('shoalpn2')
const NONCE_BYTES = 16
const KEY_INFO = 'shoal mesh aes-256-ctr'
/** How long the exchange may take before the connection is given up, ms. */
const HANDSHAKE_MS = 5000

const CLUSTER_CHECK = new TextEncoder().encode('shoal cluster ok')

/** The peer's pre-shared key is not ours: it holds another cluster's secret, or is no Shoal agent. */
export class ClusterKeyMismatchError extends Error {
  static readonly NAME = 'ClusterKeyMismatchError'
  constructor (why = 'the peer does not hold this cluster\'s key') {
    super(why)
    this.name = ClusterKeyMismatchError.NAME
  }
}

/** The connection, each direction through its own AES-256-CTR keystream. */
class KeyedConnection extends AbstractMultiaddrConnection {
  readonly #inner: MultiaddrConnection
  readonly #in: Decipher
  readonly #out: Cipher

  constructor (inner: MultiaddrConnection, inbound: Decipher, outbound: Cipher, log: Logger) {
    super({ remoteAddr: inner.remoteAddr, direction: inner.direction, log })
    this.#inner = inner
    this.#in = inbound
    this.#out = outbound
    inner.addEventListener('message', evt => {
      const data = evt.data
      if (data instanceof Uint8Array) this.onData(this.#in.update(data))
      else for (const buf of data) this.onData(this.#in.update(buf))
    })
    inner.addEventListener('drain', () => { this.onMuxerDrain() })
    inner.addEventListener('close', evt => {
      if (evt.error === undefined) this.onTransportClosed()
      else if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.#inner.close(options)
  }

  sendData (data: { readonly byteLength: number, subarray: () => Uint8Array }): { sentBytes: number, canSendMore: boolean } {
    return { sentBytes: data.byteLength, canSendMore: this.#inner.send(this.#out.update(data.subarray())) }
  }

  sendReset (err: Error): void {
    this.#inner.abort(err)
  }

  sendPause (): void {
    this.#inner.pause()
  }

  sendResume (): void {
    this.#inner.resume()
  }
}

function keystream (key: Uint8Array, nonce: Uint8Array): { key: Buffer, iv: Buffer } {
  return { key: Buffer.from(hkdfSync('sha256', key, nonce, KEY_INFO, 32)), iv: Buffer.alloc(16) }
}

class ClusterKeyProtector implements ConnectionProtector {
  readonly #key: Uint8Array

  constructor (key: Uint8Array) {
    this.#key = key
  }

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const opts = options?.signal !== undefined ? options : { ...options, signal: AbortSignal.timeout(HANDSHAKE_MS) }
    const conn = connection as MultiaddrConnection
    const nonce = randomBytes(NONCE_BYTES)
    const plain = byteStream(conn)
    const [hello] = await Promise.all([
      plain.read({ bytes: MAGIC.length + NONCE_BYTES, ...opts }),
      plain.write(Buffer.concat([MAGIC, nonce]), opts)
    ])
    const theirs = hello.subarray()
    if (!timingSafeEqual(theirs.subarray(0, MAGIC.length), MAGIC)) {
      const err = new ClusterKeyMismatchError('the peer does not speak this mesh\'s cluster-key protection (a Shoal agent of another version, or no Shoal agent)')
      conn.abort(err)
      throw err
    }
    const out = keystream(this.#key, nonce)
    const inn = keystream(this.#key, theirs.subarray(MAGIC.length))
    const keyed = new KeyedConnection(plain.unwrap() as MultiaddrConnection, createDecipheriv('aes-256-ctr', inn.key, inn.iv), createCipheriv('aes-256-ctr', out.key, out.iv), conn.log.newScope('cluster-key'))
    const bytes = byteStream(keyed)
    const [check] = await Promise.all([
      bytes.read({ bytes: CLUSTER_CHECK.length, ...opts }),
      bytes.write(CLUSTER_CHECK, opts)
    ])
    if (!timingSafeEqual(check.subarray(), CLUSTER_CHECK)) {
      const err = new ClusterKeyMismatchError()
      keyed.abort(err)
      throw err
    }
    return bytes.unwrap()
  }
}

/** The mesh's connection protector for a cluster: its key is derived from the cluster secret. */
export function clusterKeyProtector (cluster: ClusterSecret): () => ConnectionProtector {
  const key = meshKey(cluster)
  return () => new ClusterKeyProtector(key)
}
