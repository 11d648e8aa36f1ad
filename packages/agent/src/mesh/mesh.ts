import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import { isIP } from 'node:net'
import { createHash } from 'node:crypto'
import type { ClusterSecret } from '../cluster/token.ts'
import { clusterNoise } from './cluster-key.ts'
import { AddressInUseError } from '../errors.ts'
import { formatHostPort } from '../config.ts'
import type { Logger } from '../log.ts'

export type MeshServices = { identify: Identify, ping: Ping, pubsub: GossipSub }
export type MeshNode = Libp2p<MeshServices>

export interface MeshInit {
  readonly privateKey: PrivateKey
  readonly cluster: ClusterSecret
  readonly bind: string
  readonly advertise: string
  readonly port: number
}

export interface Mesh {
  readonly node: MeshNode
  readonly peerId: string
  /** The multiaddrs other members dial, built from --advertise. */
  readonly addrs: readonly string[]
  start: () => Promise<void>
  stop: () => Promise<void>
}

export function ipMultiaddr (host: string, port: number): Multiaddr {
  return multiaddr(`/${isIP(host) === 6 ? 'ip6' : 'ip4'}/${host}/tcp/${port}`)
}

/**
 * The libp2p host: TCP, noise under a prologue derived from the cluster
 * secret (a machine without it cannot complete a handshake, see
 * cluster-key.ts), yamux, identify, ping, and gossipsub for membership.
 */
export async function createMesh (init: MeshInit, log: Logger): Promise<Mesh> {
  const listen = ipMultiaddr(init.bind, init.port)
  const announce = ipMultiaddr(init.advertise, init.port)
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: [listen.toString()], announce: [announce.toString()] },
    transports: [tcp()],
    connectionEncrypters: [clusterNoise(init.cluster)],
    // A stream may have 4 MiB in flight, not yamux's 16: a ping or a Raft
    // message queued behind a full window of image data then waits a third of
    // a second on a 100 Mbit/s link instead of 1.3 s (4 MiB is still 4 GB/s
    // at a LAN's 1 ms round trip).
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 4 * 1024 * 1024 } })],
    connectionManager: {
      maxConnections: 1000,
      // libp2p's defaults (5 new connections per second per host, 10 pending
      // upgrades) refuse a rack of machines joining at once, or many agents on
      // one host. Strangers cannot complete a handshake without the cluster key anyway.
      inboundConnectionThreshold: 200,
      maxIncomingPendingConnections: 200
    },
    // libp2p aborts a connection whose ping (a new stream, then an echo) takes
    // over 5 s: on a slow link busy with an image transfer the ping waits
    // behind the transfer's window twice, and the transfer was cut off (at
    // 50 Mbit/s, every time). Members find dead peers by their heartbeats;
    // this only clears away connections that died silently.
    connectionMonitor: { pingTimeout: { minTimeout: 20_000 } },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        emitSelf: false,
        // A lone first member publishes its heartbeat to nobody; that is fine.
        allowPublishToZeroTopicPeers: true,
        // Send own messages straight to every subscribed peer, not only the mesh.
        floodPublish: true,
        // Membership must not depend on peer scoring in a small, trusted cluster.
        scoreThresholds: { gossipThreshold: -Infinity, publishThreshold: -Infinity, graylistThreshold: -Infinity, acceptPXThreshold: Infinity, opportunisticGraftThreshold: Infinity },
        heartbeatInterval: 500,
        // Every member is connected to every other and floods its own
        // messages to all of them: the mesh's forwards only cover a lost
        // copy. A smaller mesh (Kubernetes-sized clusters, not a public
        // network) sends each member fewer duplicates.
        D: 3,
        Dlo: 2,
        Dhi: 5,
        Dlazy: 3,
        // Each message reaches a member from several peers (the publisher's
        // flood and the mesh's forwards). Without a fast id, gossipsub checks
        // every copy's signature before it sees the copy is one it has: with
        // 10 members that was a quarter of an idle agent's CPU. A copy is
        // known by a hash of what the signature covers; only a copy whose
        // signature checked out is remembered, so a forged one cannot shadow
        // the real message.
        fastMsgIdFn: fastMessageId
      })
    }
  }) as MeshNode
  const peerId = node.peerId.toString()
  return {
    node,
    peerId,
    addrs: [announce.toString()],
    async start () {
      try {
        await node.start()
      } catch (err) {
        await Promise.resolve(node.stop()).catch(() => {})
        if (isAddressInUse(err)) throw new AddressInUseError('mesh', formatHostPort(init.bind, init.port), { cause: err })
        throw err
      }
      log.info({ peerId, listen: listen.toString(), announce: announce.toString() }, 'mesh listening')
    },
    async stop () {
      await node.stop()
    }
  }
}

function isAddressInUse (err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message)) return true
    if (e instanceof AggregateError && e.errors.some(isAddressInUse)) return true
  }
  return false
}

/** Gossipsub's fast message id: a hash of a message's author, sequence number, topic and data. */
export function fastMessageId (msg: { from?: Uint8Array, seqno?: Uint8Array, topic: string, data?: Uint8Array }): string {
  const h = createHash('sha256')
  for (const part of [msg.from, msg.seqno, Buffer.from(msg.topic), msg.data]) {
    const bytes = part ?? new Uint8Array()
    h.update(Buffer.from(String(bytes.length) + ':'))
    h.update(bytes)
  }
  return h.digest('base64')
}
