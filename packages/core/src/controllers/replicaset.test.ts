import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { podsToDelete, reconcileReplicaSets, replicaSetKeysForPod, untilNextAvailableMs } from './replicaset.ts'
import { TestCluster } from '../testing/controller-cluster.ts'
import type { KubeObject, ObjectInput } from '../store/types.ts'

type Rec = Record<string, any>

function replicaSet (replicas: number, spec: Rec = {}): ObjectInput {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', tier: 'fe' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } }, ...spec }
  }
}

function run (c: TestCluster, burstReplicas?: number): void {
  c.apply(reconcileReplicaSets({ replicaSets: c.list('replicasets'), pods: c.list('pods'), now: c.now, podNameSuffix: c.podNameSuffix, eventName: c.eventName, ...(burstReplicas !== undefined ? { burstReplicas } : {}) }))
}

const T = (s: number): string => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000).toISOString().replace('.000Z', 'Z')

function pod (name: string, o: { node?: string, phase?: string, ready?: boolean, readySince?: number, restarts?: number, created?: number, cost?: number } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `u-${name}`, resourceVersion: '1', creationTimestamp: T(o.created ?? 0), ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } } : {}) },
    spec: o.node !== undefined ? { nodeName: o.node } : {},
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === true ? 'True' : 'False', lastTransitionTime: T(o.readySince ?? 0) }], containerStatuses: [{ restartCount: o.restarts ?? 0 }] }
  }
}

describe('replicaset controller', () => {
  it('creates the missing pods from the template, owned by the ReplicaSet, with events', () => {
    const c = new TestCluster()
    const rs = c.put('replicasets', replicaSet(3))
    run(c)
    const pods = c.list('pods')
    assert.deepEqual(pods.map(p => p.metadata.name), ['web-xxxx1', 'web-xxxx2', 'web-xxxx3'])
    const p = pods[0]!
    assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'fe' })
    assert.deepEqual(p.metadata.annotations, { a: 'b' })
    assert.equal(p.metadata.generateName, 'web-')
    assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }])
    assert.equal((p.spec as Rec).containers[0].image, 'web:1')
    assert.deepEqual(p.status, { phase: 'Pending' })
    assert.deepEqual(c.list('events').map(e => [e.reason, e.message]).slice(0, 1), [['SuccessfulCreate', 'Created pod: web-xxxx1']])
    run(c)
    assert.deepEqual(c.get('replicasets', 'web')!.status, { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 })
    assert.equal(c.list('pods').length, 3, 'a second round creates nothing more')
  })

  it('creates at most burstReplicas per round', () => {
    const c = new TestCluster()
    c.put('replicasets', replicaSet(7))
    run(c, 3)
    assert.equal(c.list('pods').length, 3)
    run(c, 3)
    run(c, 3)
    assert.equal(c.list('pods').length, 7)
  })

  it('replaces finished pods and does not count them; leaves them in place', () => {
    const c = new TestCluster()
    c.put('replicasets', replicaSet(2))
    run(c)
    const [first] = c.list('pods')
    c.setPodStatus(first!, false, { phase: 'Failed' })
    run(c)
    assert.equal(c.list('pods').length, 3)
    assert.equal(c.get('pods', first!.metadata.name)!.status !== undefined, true)
  })

  it('adopts a matching orphan and releases a pod whose labels no longer match', () => {
    const c = new TestCluster()
    c.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } })
    const rs = c.put('replicasets', replicaSet(2))
    run(c)
    assert.equal(c.get('pods', 'stray')!.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid)
    assert.equal(c.list('pods').length, 2)
    c.patch('pods', 'stray', { metadata: { labels: { app: 'other' } } })
    run(c)
    assert.equal(c.get('pods', 'stray')!.metadata.ownerReferences, undefined)
    assert.equal(c.list('pods').length, 3)
  })

  it('status counts Ready pods, and available ones only after minReadySeconds', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    c.put('replicasets', replicaSet(2, { minReadySeconds: 10 }))
    run(c)
    c.schedule()
    c.kubelets()
    run(c)
    assert.deepEqual(c.get('replicasets', 'web')!.status, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, observedGeneration: 1 })
    c.advance(11)
    run(c)
    assert.deepEqual(c.get('replicasets', 'web')!.status, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 })
  })

  it('a ReplicaSet being deleted creates nothing', () => {
    const c = new TestCluster()
    c.put('replicasets', replicaSet(0))
    c.patch('replicasets', 'web', { metadata: { deletionTimestamp: c.now }, spec: { replicas: 2 } })
    assert.equal(c.get('replicasets', 'web')!.metadata.deletionTimestamp, c.now)
    run(c)
    assert.equal(c.list('pods').length, 0)
  })

  const order: Array<[string, KubeObject[], string[]]> = [
    ['unscheduled before scheduled', [pod('a', { node: 'n1', ready: true }), pod('b')], ['b']],
    ['Pending before Running', [pod('a', { node: 'n1' }), pod('b', { node: 'n1', phase: 'Pending' })], ['b']],
    ['not ready before ready', [pod('a', { node: 'n1', ready: true }), pod('b', { node: 'n2' })], ['b']],
    ['lower deletion cost first', [pod('a', { node: 'n1', ready: true, cost: 5 }), pod('b', { node: 'n2', ready: true, cost: 10 })], ['a']],
    ['doubled-up node first', [pod('a', { node: 'n1', ready: true }), pod('b', { node: 'n2', ready: true }), pod('c', { node: 'n2', ready: true })], ['c']],
    ['ready more recently first', [pod('a', { node: 'n1', ready: true, readySince: 5 }), pod('b', { node: 'n2', ready: true, readySince: 9 })], ['b']],
    ['more restarts first', [pod('a', { node: 'n1', restarts: 1 }), pod('b', { node: 'n2', restarts: 4 })], ['b']],
    ['newer first', [pod('a', { node: 'n1', created: 9 }), pod('b', { node: 'n2', created: 2 })], ['a']]
  ]
  for (const [name, pods, expected] of order) {
    it(`scale-down order: ${name}`, () => {
      assert.deepEqual(podsToDelete(pods, pods, expected.length).map(p => p.metadata.name), expected)
      assert.deepEqual(podsToDelete([...pods].reverse(), pods, expected.length).map(p => p.metadata.name), expected)
    })
  }

  it('scales down, deleting the least valuable pods with events', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    c.put('replicasets', replicaSet(3))
    run(c)
    c.schedule()
    c.kubelets(p => p.metadata.name !== 'web-xxxx2')
    c.patch('replicasets', 'web', { spec: { replicas: 2 } })
    run(c)
    assert.deepEqual(c.list('pods').map(p => p.metadata.name), ['web-xxxx1', 'web-xxxx3'])
    assert.ok(c.list('events').some(e => e.reason === 'SuccessfulDelete' && e.message === 'Deleted pod: web-xxxx2'))
  })
})

describe('replicaset controller, one key at a time', () => {
  const rsObj = (name: string, uid: string, minReadySeconds = 0): KubeObject => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default', uid, resourceVersion: '1', creationTimestamp: T(0) }, spec: { replicas: 1, minReadySeconds, selector: { matchLabels: { app: name } } } })
  const owned = (p: KubeObject, rs: KubeObject): KubeObject => ({ ...p, metadata: { ...p.metadata, labels: { app: rs.metadata.name }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true }] } })

  it('only: the other ReplicaSets are left as they are', () => {
    const c = new TestCluster()
    c.put('replicasets', replicaSet(2))
    c.put('replicasets', { ...replicaSet(2), metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } })
    c.apply(reconcileReplicaSets({ replicaSets: c.list('replicasets'), pods: c.list('pods'), now: c.now, podNameSuffix: c.podNameSuffix, eventName: c.eventName, only: new Set(['default/db']) }))
    assert.deepEqual(c.list('pods').map(p => p.metadata.labels?.app), ['db', 'db'])
  })

  it('a pod concerns its controller; an orphan, the ReplicaSets that would adopt it', () => {
    const web = rsObj('web', 'u-web')
    const db = rsObj('db', 'u-db')
    assert.deepEqual(replicaSetKeysForPod(owned(pod('p'), web), [web, db]), ['default/web'])
    assert.deepEqual(replicaSetKeysForPod({ ...pod('o'), metadata: { ...pod('o').metadata, labels: { app: 'db' } } }, [web, db]), ['default/db'])
    assert.deepEqual(replicaSetKeysForPod(pod('none'), [web, db]), [])
  })

  it('untilNextAvailableMs: the wait until a Ready pod counts as available, with minReadySeconds', () => {
    const rs = rsObj('web', 'u-web', 10)
    const nowMs = Date.parse(T(4))
    assert.equal(untilNextAvailableMs(rs, [owned(pod('a', { ready: true, readySince: 0 }), rs)], nowMs), 6000 + 1000)
    assert.equal(untilNextAvailableMs(rs, [owned(pod('a', { ready: false }), rs)], nowMs), undefined)
    assert.equal(untilNextAvailableMs(rsObj('web', 'u-web', 0), [owned(pod('a', { ready: true }), rs)], nowMs), undefined)
  })
})
