import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createMesh, type Mesh } from './mesh.ts'
import { CLUSTER_KEY_MISMATCH } from './cluster-key.ts'
import { newCluster, type ClusterSecret } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'

/**
 * The cluster key in noise's prologue, between real libp2p meshes on
 * loopback (127.0.0.221-223, port 17991): members connect and talk; a
 * mesh of another cluster fails the handshake whichever side dials, with
 * the mismatch named, and never reaches a protocol handler.
 */
const log = createSilentLogger()
const PORT = 17991
const PROTOCOL = '/shoal/test-echo/1.0.0'

describe('the cluster key on mesh connections', () => {
  const meshes: Mesh[] = []
  after(async () => { await Promise.all(meshes.map(async m => { await m.stop() })) })

  /** A mesh on 127.0.0.HOST whose echo handler counts what opened it. */
  async function start (host: number, cluster: ClusterSecret): Promise<{ mesh: Mesh, opened: () => number }> {
    const ip = `127.0.0.${host}`
    const mesh = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster, bind: ip, advertise: ip, port: PORT }, log)
    await mesh.start()
    meshes.push(mesh)
    let opened = 0
    await mesh.node.handle(PROTOCOL, async (stream) => {
      opened++
      await stream.close()
    })
    return { mesh, opened: () => opened }
  }

  const ours = newCluster()
  const theirs = newCluster()

  it('members of one cluster connect and open protocols; a stranger fails the handshake either way round, named as a key mismatch', async () => {
    const a = await start(221, ours)
    const b = await start(222, ours)
    const stranger = await start(223, theirs)

    const stream = await a.mesh.node.dialProtocol(multiaddr(b.mesh.addrs[0]!), PROTOCOL)
    await stream.close()
    assert.equal(b.opened(), 1, 'a member opens the protocol')

    const mismatch = (err: unknown): boolean => {
      assert.ok(err instanceof Error)
      assert.ok(String(err.message).includes(CLUSTER_KEY_MISMATCH) || String((err as { cause?: Error }).cause?.message).includes(CLUSTER_KEY_MISMATCH) ||
        (err instanceof AggregateError && err.errors.some(e => String((e as Error).message).includes(CLUSTER_KEY_MISMATCH))), `expected a key mismatch, got ${err.name}: ${err.message}`)
      return true
    }
    // The stranger dials a member, and a member dials the stranger.
    await assert.rejects(stranger.mesh.node.dialProtocol(multiaddr(a.mesh.addrs[0]!), PROTOCOL), mismatch)
    await assert.rejects(a.mesh.node.dialProtocol(multiaddr(stranger.mesh.addrs[0]!), PROTOCOL), mismatch)
    assert.equal(a.opened(), 0, 'the stranger reached no handler of a member')
    assert.equal(stranger.opened(), 0, 'the member reached no handler of the stranger')
    assert.equal(stranger.mesh.node.getConnections().length, 0, 'no connection stays open')
    assert.equal(a.mesh.node.getConnections().filter(c => c.remotePeer.equals(stranger.mesh.node.peerId)).length, 0)
  })
})
