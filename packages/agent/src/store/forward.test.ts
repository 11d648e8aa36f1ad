import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createMesh, ipMultiaddr, type Mesh } from '../mesh/mesh.ts'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { createForwardClient } from './forward.ts'

describe('forward client', () => {
  let mesh: Mesh | undefined
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)

  after(async () => {
    process.off('unhandledRejection', onUnhandled)
    await mesh?.stop()
  })

  it('a leader that cannot be reached fails the request cleanly, without an unhandled rejection', async () => {
    mesh = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster: newCluster(), bind: '127.0.0.58', advertise: '127.0.0.58', port: 17950 }, createSilentLogger())
    await mesh.start()
    const gone = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await mesh.node.peerStore.merge(gone, { multiaddrs: [ipMultiaddr('127.0.0.59', 17951)] })
    const client = createForwardClient(mesh.node)
    for (let i = 0; i < 3; i++) {
      await assert.rejects(client.request(gone, { kind: 'propose', data: '{}' }, AbortSignal.timeout(5000)))
    }
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(unhandled, [])
    client.close()
  })
})
