import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { reconcileNodes } from './nodes.ts'
import { ObjectStore } from '../store/store.ts'
import { CLUSTER_CONFIG } from '../store/pod-cidrs.ts'
import type { Member } from '../members/types.ts'
import type { KubeObject, ObjectCommand, Result } from '../store/types.ts'

const T0 = '2026-01-01T00:00:00Z'
const T1 = '2026-01-01T00:01:00Z'
const version = (v: string): string => `v1.32.0-shoal-${v}`

function member (name: string, state: Member['state'] = 'alive', extra: Partial<Member> = {}): Member {
  return { name, peerId: `p-${name}`, addrs: [], api: `10.0.0.${name.length}:6443`, capacity: { cpus: 2, memoryBytes: 4 * 2 ** 30 }, version: '0.1.0', state, incarnation: 1, lastSeenMs: 0, stateSinceMs: 0, ...extra }
}

let events = 0

/** Apply the controller's commands to a store, as the leader proposes them, and return the Nodes. */
function run (store: ObjectStore, members: Member[], now: string): { commands: ObjectCommand[], nodes: Map<string, KubeObject> } {
  const list = (): KubeObject[] => { const r = store.list('nodes', {}); assert.ok(r.ok); return [...r.items] }
  const clusterConfig = store.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name)
  const commands = reconcileNodes({ members, nodes: list(), clusterConfig, now, kubeletVersion: version, eventName: n => `${n}.${++events}` })
  let index = Number(store.resourceVersion)
  for (const c of commands) {
    const r: Result = store.apply(++index, c.op === 'create' ? { ...c, uid: `uid-${c.object.metadata.name}-${index}` } : c) as Result
    assert.ok(r.ok, JSON.stringify(r))
  }
  return { commands, nodes: new Map(list().map(n => [n.metadata.name, n])) }
}

const ready = (n: KubeObject | undefined): unknown => (n?.status as { conditions: Array<{ status: string, reason: string, lastTransitionTime: string }> }).conditions[0]

describe('node controller', () => {
  it('creates a Ready Node per member, with capacity, addresses, labels and version', () => {
    const store = new ObjectStore()
    const { nodes } = run(store, [member('n1'), member('node-2', 'suspect')], T0)
    assert.deepEqual([...nodes.keys()].sort(), ['n1', 'node-2'])
    const n1 = nodes.get('n1')!
    assert.deepEqual(n1.metadata.labels, { 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux' })
    const status = n1.status as { capacity: Record<string, string>, addresses: unknown, nodeInfo: { kubeletVersion: string } }
    assert.deepEqual(status.capacity, { cpu: '2', memory: '4194304Ki', pods: '110' })
    assert.deepEqual(status.addresses, [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n1' }])
    assert.equal(status.nodeInfo.kubeletVersion, 'v1.32.0-shoal-0.1.0')
    assert.deepEqual(ready(nodes.get('node-2')), { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'shoal agent is posting ready status', lastHeartbeatTime: T0, lastTransitionTime: T0 })
  })

  it('writes nothing when nothing changed', () => {
    const store = new ObjectStore()
    run(store, [member('n1')], T0)
    assert.deepEqual(run(store, [member('n1')], T1).commands, [])
  })

  it('keeps the images the node\'s kubelet reported, and writes nothing for them', () => {
    const store = new ObjectStore()
    run(store, [member('n1')], T0)
    const images = [{ names: ['web:1', `sha256:${'a'.repeat(64)}`], sizeBytes: 5 }]
    const r = store.apply(Number(store.resourceVersion) + 1, { op: 'patch', resource: 'nodes', namespace: '', name: 'n1', patch: { status: { images } }, now: T0, scope: 'status' }) as Result
    assert.ok(r.ok, JSON.stringify(r))
    assert.deepEqual(run(store, [member('n1')], T1).commands, [])
    const { nodes } = run(store, [member('n1', 'dead')], T1)
    assert.deepEqual((nodes.get('n1')!.status as { images: unknown }).images, images, 'a status change keeps them')
  })

  it('a dead or stopped member makes its Node Unknown, once; a return makes it Ready again', () => {
    events = 0
    const store = new ObjectStore()
    run(store, [member('n1'), member('n2')], T0)
    const { nodes } = run(store, [member('n1', 'dead'), member('n2', 'left', { leaveReason: 'shutdown' })], T1)
    assert.deepEqual(ready(nodes.get('n1')), { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: T1, lastTransitionTime: T1 })
    assert.equal((ready(nodes.get('n2')) as { reason: string }).reason, 'NodeShutdown')
    const recorded = store.list('events', {})
    assert.ok(recorded.ok)
    assert.deepEqual(recorded.items.map(e => [e.metadata.name, (e.involvedObject as { name: string }).name, e.reason, e.type, e.message]), [
      ['n1.1', 'n1', 'NodeNotReady', 'Warning', 'Node n1 status is now: NodeNotReady'],
      ['n2.2', 'n2', 'NodeNotReady', 'Warning', 'Node n2 status is now: NodeNotReady']
    ])
    assert.deepEqual(run(store, [member('n1', 'dead'), member('n2', 'left', { leaveReason: 'shutdown' })], '2026-01-01T00:02:00Z').commands, [])
    const back = run(store, [member('n1'), member('n2')], '2026-01-01T00:03:00Z').nodes
    assert.equal((ready(back.get('n1')) as { status: string, lastTransitionTime: string }).status, 'True')
    assert.equal((ready(back.get('n1')) as { lastTransitionTime: string }).lastTransitionTime, '2026-01-01T00:03:00Z')
  })

  it('a member whose container runtime is down is Ready=False with the runtime\'s message, and Ready again when it is back', () => {
    const store = new ObjectStore()
    run(store, [member('n1')], T0)
    const down = run(store, [member('n1', 'alive', { runtime: { ready: false, message: 'cannot reach the Docker engine' } })], T1).nodes
    assert.deepEqual(ready(down.get('n1')), { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down: cannot reach the Docker engine', lastHeartbeatTime: T1, lastTransitionTime: T1 })
    const back = run(store, [member('n1', 'alive', { runtime: { ready: true } })], '2026-01-01T00:02:00Z').nodes
    assert.equal((ready(back.get('n1')) as { status: string }).status, 'True')
  })

  it('a member that left for good loses its Node', () => {
    const store = new ObjectStore()
    run(store, [member('n1'), member('n2')], T0)
    const { nodes, commands } = run(store, [member('n1'), member('n2', 'left', { leaveReason: 'leave' })], T1)
    assert.deepEqual([...nodes.keys()], ['n1'])
    assert.equal(commands.length, 1)
  })

  it('keeps the user\'s spec and labels, and its writes carry the resourceVersion they saw', () => {
    const store = new ObjectStore()
    run(store, [member('n1')], T0)
    const n1 = store.get('nodes', '', 'n1')!
    const r = store.apply(Number(store.resourceVersion) + 1, { op: 'update', resource: 'nodes', object: { ...n1, metadata: { ...n1.metadata, labels: { ...n1.metadata.labels, disk: 'ssd' } }, spec: { unschedulable: true } }, now: T0 })
    assert.ok(r.ok)
    const { commands, nodes } = run(store, [member('n1', 'dead')], T1)
    assert.equal(commands[0]?.op, 'update')
    assert.deepEqual(commands[0]?.op === 'update' ? commands[0].precondition : undefined, { resourceVersion: r.ok ? r.object.metadata.resourceVersion : '' })
    assert.deepEqual(nodes.get('n1')!.spec, { unschedulable: true })
    assert.equal(nodes.get('n1')!.metadata.labels?.disk, 'ssd')
  })

  it('a Node written before the ClusterConfig gets its pod range by an update once the ClusterConfig is there, and a full range costs no writes', () => {
    const store = new ObjectStore()
    const podCIDR = (name: string): unknown => (store.get('nodes', '', name)?.spec as { podCIDR?: string } | undefined)?.podCIDR
    run(store, [member('n1'), member('n2')], T0)
    assert.equal(podCIDR('n1'), undefined, 'no ClusterConfig yet: no range, rather than one from defaults that may differ')
    assert.deepEqual(run(store, [member('n1'), member('n2')], T0).commands, [], 'and no writes while there is none')
    const config = { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG.name }, spec: { voters: 3, clusterCIDR: '10.200.0.0/24', nodeCIDRMaskSize: 25 } }
    assert.ok(store.apply(Number(store.resourceVersion) + 1, { op: 'create', resource: CLUSTER_CONFIG.resource, object: config, uid: 'cc', now: T0 }).ok)
    const { commands } = run(store, [member('n1'), member('n2')], T0)
    assert.deepEqual(commands.map(c => [c.op, c.op === 'update' ? c.object.metadata.name : '']), [['update', 'n1'], ['update', 'n2']])
    assert.deepEqual([podCIDR('n1'), podCIDR('n2')], ['10.200.0.0/25', '10.200.0.128/25'])
    assert.deepEqual(run(store, [member('n1'), member('n2')], T1).commands, [], 'ranges held: nothing more to do')
    // The two ranges are held: a third node is created without one, and no update is tried for it.
    run(store, [member('n1'), member('n2'), member('n3')], T1)
    assert.equal(podCIDR('n3'), undefined)
    assert.deepEqual(run(store, [member('n1'), member('n2'), member('n3')], T1).commands, [])
    // n1 leaves for good: its Node goes, and n3 gets its range in the next round.
    run(store, [member('n1', 'left', { leaveReason: 'leave' }), member('n2'), member('n3')], T1)
    const { commands: next } = run(store, [member('n2'), member('n3')], T1)
    assert.deepEqual(next.map(c => c.op), ['update'])
    assert.equal(podCIDR('n3'), '10.200.0.0/25')
  })

  it('a Node created once the ClusterConfig is there gets its range with the create', () => {
    const store = new ObjectStore()
    assert.ok(store.apply(1, { op: 'create', resource: CLUSTER_CONFIG.resource, object: { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG.name }, spec: { voters: 3 } }, uid: 'cc', now: T0 }).ok)
    const { commands, nodes } = run(store, [member('n1')], T0)
    assert.deepEqual(commands.map(c => c.op), ['create'])
    assert.deepEqual(nodes.get('n1')!.spec, { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] })
  })
})
