import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ObjectStore, type BatchResult, type Command, type KubeObject, type ObjectCommand, type Result } from '@shoal/core'
import { createMesh, type Mesh } from '../mesh/mesh.ts'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { POD_STATUS_TOPIC, createStatusReporter, splitReports, type PodStatusMessage, type PodStatusReport, type StatusReporter } from '../kubelet/status-reporter.ts'
import { createPodStatusSink, type PodStatusSink, type PodStatusSinkCounters } from './pod-status.ts'
import { waitFor } from '@shoal/core/testing/wait.ts'

/**
 * Pod status from kubelets to the leader over real gossipsub between three
 * libp2p meshes on loopback. The store behind the sinks is the real
 * ObjectStore with the replication left out: a write applies at once, and
 * every command written is recorded.
 */
const log = createSilentLogger()
const cluster = newCluster()
const PORT = 17981
const NOW = '2025-01-01T00:00:00Z'

class FakeStore {
  readonly local = new ObjectStore()
  readonly written: ObjectCommand[] = []
  writes = 0
  #index = 0
  /** Runs once, just before the next write applies (a pod vanishing meanwhile). */
  beforeNextWrite: (() => void) | undefined

  async write (cmd: Command): Promise<Result | BatchResult> {
    const hook = this.beforeNextWrite
    this.beforeNextWrite = undefined
    hook?.()
    this.writes++
    const result = this.local.apply(++this.#index, cmd)
    if (result.ok) this.written.push(...(cmd.op === 'batch' ? cmd.commands : [cmd]))
    return result
  }

  addPod (name: string, uid: string, nodeName: string): void {
    this.local.apply(++this.#index, { op: 'create', resource: 'pods', uid, now: NOW, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Pending' } } })
  }

  deletePod (name: string): void {
    this.local.apply(++this.#index, { op: 'delete', resource: 'pods', namespace: 'default', name })
  }

  status (name: string): unknown {
    return this.local.get('pods', 'default', name)?.status
  }

  uid (name: string): string {
    return (this.local.get('pods', 'default', name) as KubeObject).metadata.uid
  }
}

/**
 * Wait until `sink` has taken `reports` more pod reports and dropped
 * `dropped` more messages than at `from`, with no round running or pending:
 * what would have been written of them has been by then.
 */
async function heard (sink: PodStatusSink, from: PodStatusSinkCounters, reports: number, dropped = 0): Promise<void> {
  await waitFor(`${reports} more report(s) and ${dropped} dropped message(s), and no round pending`, () => {
    const now = sink.counters()
    // Thrown, the counters show in the timeout's message.
    if (!(now.received >= from.received + reports && now.dropped >= from.dropped + dropped && now.idle)) throw new Error(`counters ${JSON.stringify(now)}, from ${JSON.stringify(from)}`)
    return true
  }, { intervalMs: 10 })
}

const running = (ip: string): Record<string, unknown> => ({ phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] })

describe('pod status over gossip', () => {
  const meshes: Mesh[] = []
  const leaderStore = new FakeStore()
  const followerStore = new FakeStore()
  let leaderSink: PodStatusSink
  let followerSink: PodStatusSink
  let r2: StatusReporter
  let r3: StatusReporter
  const EPOCH = 1_000

  const report = (store: FakeStore, name: string, status: Record<string, unknown>): PodStatusReport =>
    ({ namespace: 'default', name, uid: store.uid(name), status })
  /** Publish a hand-made message from mesh `i` (what a confused or restarted node might send). */
  const publishRaw = async (i: number, msg: PodStatusMessage): Promise<void> => {
    await meshes[i]!.node.services.pubsub.publish(POD_STATUS_TOPIC, new TextEncoder().encode(JSON.stringify(msg)))
  }

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const ip = `127.0.0.${151 + i}`
      const mesh = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster, bind: ip, advertise: ip, port: PORT }, log)
      await mesh.start()
      meshes.push(mesh)
    }
    for (let i = 1; i < 3; i++) {
      for (let j = 0; j < i; j++) await meshes[i]!.node.dial(meshes[j]!.node.getMultiaddrs()[0]!)
    }
    for (const s of [leaderStore, followerStore]) {
      s.addPod('web', 'uid-web', 'n2')
      s.addPod('web2', 'uid-web2', 'n2')
      s.addPod('db', 'uid-db', 'n3')
      s.addPod('own', 'uid-own', 'n1')
    }
    const peerOf = (name: string): string | undefined => ({ n2: meshes[1]!.peerId, n3: meshes[2]!.peerId } as Record<string, string>)[name]
    leaderSink = createPodStatusSink({ node: meshes[0]!.node, store: leaderStore, leading: () => true, log, peerOf, now: () => NOW })
    followerSink = createPodStatusSink({ node: meshes[1]!.node, store: followerStore, leading: () => false, log, peerOf, now: () => NOW })
    leaderSink.start()
    followerSink.start()
    r2 = createStatusReporter({ node: meshes[1]!.node, nodeName: 'n2', log, epoch: EPOCH })
    r3 = createStatusReporter({ node: meshes[2]!.node, nodeName: 'n3', log, epoch: EPOCH })
    // Gossipsub learns who subscribes through its heartbeats: wait until every reporter sees the leader.
    await waitFor('subscriptions', () => meshes.slice(1).every(m => m.node.services.pubsub.getSubscribers(POD_STATUS_TOPIC).some(p => p.equals(meshes[0]!.node.peerId))))
  })

  after(async () => {
    await r2?.stop()
    await r3?.stop()
    await leaderSink?.stop()
    await followerSink?.stop()
    for (const m of meshes) await m.stop()
  })

  it('a report reaches the leader and is committed once, as a status-only write', async () => {
    const leaderFrom = leaderSink.counters()
    r2.report([report(leaderStore, 'web', running('10.0.0.2'))])
    await waitFor('web Running', () => (leaderStore.status('web') as { phase?: string }).phase === 'Running')
    await heard(leaderSink, leaderFrom, 1)
    assert.deepEqual(leaderStore.status('web'), running('10.0.0.2'))
    assert.equal(leaderStore.writes, 1)
    assert.equal(leaderStore.written.length, 1)
    const cmd = leaderStore.written[0]!
    assert.equal(cmd.op, 'update')
    assert.equal(cmd.op === 'update' && cmd.scope, 'status')
    assert.deepEqual(cmd.op === 'update' && cmd.precondition, { uid: 'uid-web' })
    // The follower never writes (it sits on the reporter's own mesh, to which gossip does not loop back).
    assert.equal(followerStore.writes, 0)
    // The spec is untouched.
    assert.equal((leaderStore.local.get('pods', 'default', 'web')?.spec as { nodeName: string }).nodeName, 'n2')
  })

  it('changes that come together are one Raft write; an unchanged report writes nothing', async () => {
    const before = leaderStore.writes
    const from = leaderSink.counters()
    r2.report([report(leaderStore, 'web', running('10.0.0.2'))]) // unchanged
    r2.report([report(leaderStore, 'web2', running('10.0.0.3'))])
    r3.report([report(leaderStore, 'db', running('10.0.0.4'))])
    await waitFor('web2 and db Running', () => (leaderStore.status('web2') as { phase?: string }).phase === 'Running' && (leaderStore.status('db') as { phase?: string }).phase === 'Running')
    await heard(leaderSink, from, 3)
    const written = leaderStore.written.slice(-2).map(c => c.op === 'update' ? c.object.metadata.name : '')
    assert.deepEqual(written.sort(), ['db', 'web2'])
    assert.equal(leaderStore.written.length, 3)
    // One batch, or two when the two nodes' messages fell into different rounds.
    assert.ok(leaderStore.writes - before <= 2)

    // A full report of everything as it is: nothing to write.
    const writes = leaderStore.writes
    const fullFrom = leaderSink.counters()
    await r2.reportFull([report(leaderStore, 'web', running('10.0.0.2')), report(leaderStore, 'web2', running('10.0.0.3'))])
    await heard(leaderSink, fullFrom, 2)
    assert.equal(leaderStore.writes, writes)
  })

  it('a report older than one already taken from the same node is ignored; a restarted node (newer epoch) is heard', async () => {
    // r2 has sent several messages of epoch EPOCH by now; seq 1 of that epoch is stale.
    const from = leaderSink.counters()
    await publishRaw(1, { type: 'pod-status', node: 'n2', epoch: EPOCH, seq: 1, full: false, pods: [report(leaderStore, 'web', { phase: 'Pending' })] })
    r2.report([report(leaderStore, 'web2', running('10.0.0.33'))]) // a marker after it, from the same node
    await waitFor('marker', () => (leaderStore.status('web2') as { podIP?: string }).podIP === '10.0.0.33')
    await heard(leaderSink, from, 2)
    assert.deepEqual(leaderStore.status('web'), running('10.0.0.2'))

    // The node restarted: a later epoch starts its seq again from 1.
    await publishRaw(1, { type: 'pod-status', node: 'n2', epoch: EPOCH + 1, seq: 1, full: false, pods: [report(leaderStore, 'web', running('10.0.0.22'))] })
    await waitFor('web after restart', () => (leaderStore.status('web') as { podIP?: string }).podIP === '10.0.0.22')
  })

  it('a report for a pod bound to another node, or signed by another peer, is ignored', async () => {
    const writes = leaderStore.writes
    const from = leaderSink.counters()
    // n3 reports on web, which is bound to n2.
    r3.report([report(leaderStore, 'web', { phase: 'Failed' })])
    // mesh 3 pretends to be n2.
    await publishRaw(2, { type: 'pod-status', node: 'n2', epoch: EPOCH + 5, seq: 1, full: false, pods: [report(leaderStore, 'web', { phase: 'Failed' })] })
    // A report for a uid that is not the pod's (an older pod of the same name).
    r2.report([{ namespace: 'default', name: 'web', uid: 'uid-old-web', status: { phase: 'Failed' } }])
    // A report for a pod that does not exist.
    r2.report([{ namespace: 'default', name: 'ghost', uid: 'uid-ghost', status: { phase: 'Running' } }])
    await heard(leaderSink, from, 3, 1)
    assert.equal(leaderStore.writes, writes)
    assert.equal((leaderStore.status('web') as { phase?: string }).phase, 'Running')
  })

  it('when one pod of a batch vanished meanwhile, the others are still committed', async () => {
    const writes = leaderStore.writes
    leaderStore.beforeNextWrite = () => { leaderStore.deletePod('web2') }
    // One message, so one round and one batch.
    r2.report([report(leaderStore, 'web', running('10.0.0.99')), report(leaderStore, 'web2', running('10.0.0.98'))])
    await waitFor('web updated', () => (leaderStore.status('web') as { podIP?: string }).podIP === '10.0.0.99')
    assert.equal(leaderStore.local.get('pods', 'default', 'web2'), undefined)
    // The refused batch, then the same batch without web2.
    assert.equal(leaderStore.writes - writes, 2)
  })

  it('the leader\'s own kubelet is heard without gossip looping back', async () => {
    const r1 = createStatusReporter({ node: meshes[0]!.node, nodeName: 'n1', log, local: msg => { leaderSink.deliver(msg) } })
    r1.report([report(leaderStore, 'own', running('10.0.0.1'))])
    await waitFor('own Running', () => (leaderStore.status('own') as { phase?: string }).phase === 'Running')
    await r1.stop()
  })

  it('big full reports are split into bounded messages', () => {
    const pods = Array.from({ length: 50 }, (_, i) => ({ namespace: 'default', name: `p${i}`, uid: `u${i}`, status: { phase: 'Running', message: 'x'.repeat(1000) } }))
    const groups = splitReports(pods, 'n1', 8 * 1024)
    assert.ok(groups.length >= 7)
    assert.deepEqual(groups.flat(), pods)
    for (const g of groups) assert.ok(Buffer.byteLength(JSON.stringify({ type: 'pod-status', node: 'n1', epoch: Date.now(), seq: 1e9, full: true, part: 99, parts: 99, pods: g })) <= 8 * 1024)
    assert.deepEqual(splitReports([], 'n1'), [[]])
  })
})
