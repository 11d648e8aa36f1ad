import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { RaftNode, bootstrapState, resolveRaftConfig, type Entry, type Snapshot } from '@shoal/core/raft/index.ts'
import { createMesh, ipMultiaddr, type Mesh } from '../mesh/mesh.ts'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { LevelRaftStorage } from './storage.ts'
import { createRaftTransport } from './transport.ts'
import { createRaftDriver, NotLeaderError, type RaftDriver } from './driver.ts'
import { waitFor } from '@shoal/core/testing/wait.ts'

/**
 * Raft over the real pieces: libp2p on loopback between three in-process
 * nodes, LevelDB on disk, the driver's persist-send-apply loop. Ticks are
 * 20 ms here, so elections take a fraction of a second.
 */
const cluster = newCluster()
const names = ['r1', 'r2', 'r3']
const ip = (i: number): string => `127.0.0.${61 + i}`
const root = mkdtempSync(join(tmpdir(), 'shoal-raft-'))
const log = createSilentLogger()

interface Member { name: string, key: PrivateKey, peer: PeerId, mesh?: Mesh, driver?: RaftDriver, kv: Map<string, string> }
const members: Member[] = []

async function startMember (m: Member, i: number, fresh: boolean): Promise<void> {
  m.mesh = await createMesh({ privateKey: m.key, cluster, bind: ip(i), advertise: ip(i), port: 17946 }, log)
  await m.mesh.start()
  for (const [j, other] of members.entries()) {
    if (other !== m) await m.mesh.node.peerStore.merge(other.peer, { multiaddrs: [ipMultiaddr(ip(j), 17946)] })
  }
  const storage = await LevelRaftStorage.open(join(root, m.name))
  if (fresh) await storage.save(bootstrapState({ voters: names, learners: [] }))
  const persisted = await storage.load()
  const raft = new RaftNode({ id: m.name, config: resolveRaftConfig(), persisted, rng: Math.random })
  m.kv = new Map()
  const transport = createRaftTransport({
    node: m.mesh.node,
    resolve: id => members.find(x => x.name === id)?.peer,
    nameOf: peer => members.find(x => x.peer.equals(peer))?.name,
    log
  })
  m.driver = createRaftDriver({ raft, storage, transport, log }, {
    tickMs: 20,
    compactEvery: 25,
    snapshotData: () => JSON.stringify([...m.kv]),
    apply: (entries: readonly Entry[], snapshot: Snapshot | null) => {
      if (snapshot !== null) m.kv = new Map(JSON.parse(snapshot.data) as Array<[string, string]>)
      for (const e of entries) {
        if (e.type !== 'normal' || e.data === '') continue
        const { key, value } = JSON.parse(e.data) as { key: string, value: string }
        m.kv.set(key, value)
      }
    }
  })
  await m.driver.start()
}

async function stopMember (m: Member): Promise<void> {
  await m.driver?.stop()
  await m.mesh?.stop()
  m.driver = undefined
}

const leaderOf = (): Member | undefined => members.find(m => m.driver !== undefined && m.driver.status().role === 'leader')

describe('Raft over libp2p and LevelDB', () => {
  after(async () => {
    for (const m of members) await stopMember(m).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  })

  it('three nodes elect a leader and replicate writes to every disk', async () => {
    for (const name of names) {
      const key = await generateKeyPair('Ed25519')
      members.push({ name, key, peer: peerIdFromPrivateKey(key), kv: new Map() })
    }
    await Promise.all(members.map(async (m, i) => await startMember(m, i, true)))
    const leader = await waitFor('a leader', leaderOf)
    for (let i = 0; i < 50; i++) await leader.driver!.propose(JSON.stringify({ key: `k${i}`, value: `v${i}` }))
    await waitFor('all applied', () => members.every(m => m.kv.get('k49') === 'v49'))
    const follower = members.find(m => m !== leader)!
    await assert.rejects(follower.driver!.propose('{}'), (err: unknown) => err instanceof NotLeaderError && err.leader === leader.name)
  })

  it('a follower waits for a write proposed on the leader to be applied locally', async () => {
    const leader = leaderOf()!
    const follower = members.find(m => m !== leader)!
    const at = await leader.driver!.proposeAppended(JSON.stringify({ key: 'ryw', value: 'yes' }))
    await follower.driver!.waitApplied(at.index, at.term)
    assert.equal(follower.kv.get('ryw'), 'yes')
  })

  it('linearizable reads: the leader confirms a read index with a quorum', async () => {
    const leader = leaderOf()!
    const index = await leader.driver!.readIndex()
    assert.ok(index >= 50, `read index ${index}`)
  })

  it('when the leader stops, another is elected and the log survives a restart from disk', async () => {
    const old = leaderOf()!
    await stopMember(old)
    const next = await waitFor('a new leader', () => { const l = leaderOf(); return l !== old ? l : undefined })
    await next.driver!.propose(JSON.stringify({ key: 'after', value: 'failover' }))
    await startMember(old, members.indexOf(old), false)
    await waitFor('the restarted node caught up', () => old.kv.get('after') === 'failover' && old.kv.get('k0') === 'v0')
  })

  it('a member down while the others compacted catches up from a snapshot over the wire', async () => {
    const leader = await waitFor('a leader', leaderOf)
    const down = members.find(m => m !== leader)!
    await stopMember(down)
    for (let i = 0; i < 100; i++) await leader.driver!.propose(JSON.stringify({ key: `s${i}`, value: `${i}` }))
    await startMember(down, members.indexOf(down), false)
    await waitFor('snapshot catch-up', () => down.kv.get('s99') === '99' && down.kv.get('k0') === 'v0')
    // And it restarts from the snapshot it installed, with everything.
    await stopMember(down)
    await startMember(down, members.indexOf(down), false)
    await waitFor('restart from snapshot', () => down.kv.get('s99') === '99' && down.kv.get('ryw') === 'yes')
  })
})
