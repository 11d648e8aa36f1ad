import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { TestCluster } from '../testing/controller-cluster.ts'
import { deploymentKeysForReplicaSet, reconcileDeployments, untilProgressDeadlineMs } from './deployment.ts'
import { reconcileReplicaSets } from './replicaset.ts'
import type { KubeObject, ObjectInput } from '../store/types.ts'
import { isPodReady, podNodeName } from './common.ts'
import { computeHash } from './deployment-util.ts'

type Rec = Record<string, any>

function deployment (name: string, replicas: number, image: string, spec: Rec = {}): ObjectInput {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } }, ...spec }
  }
}

const setImage = (c: TestCluster, name: string, image: string): KubeObject =>
  c.patch('deployments', name, { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } })

const imageOf = (o: KubeObject): string => ((o.spec as Rec).containers ?? (o.spec as Rec).template.spec.containers)[0].image
const status = (c: TestCluster, name = 'web'): Rec => c.get('deployments', name)!.status as Rec
const condition = (c: TestCluster, type: string, name = 'web'): Rec | undefined => (status(c, name).conditions as Rec[] | undefined)?.find(x => x.type === type)
const replicaSets = (c: TestCluster): Array<[string, number, string | undefined, string]> =>
  c.list('replicasets').map(rs => [imageOf({ ...rs, spec: (rs.spec as Rec).template.spec } as KubeObject), (rs.spec as Rec).replicas, rs.metadata.annotations?.['deployment.kubernetes.io/revision'], rs.metadata.name])

/** The same checks `kubectl rollout status` makes. */
function rolledOut (c: TestCluster, name = 'web'): boolean {
  const d = c.get('deployments', name)!
  const s = d.status as Rec
  const want = (d.spec as Rec).replicas
  return s.observedGeneration >= d.metadata.generation! && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want
}

function untilRolledOut (c: TestCluster, check: () => void = () => {}, rounds = 40): number {
  for (let i = 1; i <= rounds; i++) {
    c.round()
    check()
    if (rolledOut(c) && c.list('pods').length === (c.get('deployments', 'web')!.spec as Rec).replicas) return i
  }
  assert.fail(`not rolled out after ${rounds} rounds: ${JSON.stringify(status(c))}`)
}

describe('deployment controller', () => {
  it('a Deployment of 3 makes a ReplicaSet of 3 and 3 pods; Ready pods make it Available', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'], autoReady: false })
    c.put('deployments', deployment('web', 3, 'web:1'))
    c.round()
    const [rs] = c.list('replicasets')
    const hash = computeHash((c.get('deployments', 'web')!.spec as Rec).template)
    assert.equal(rs!.metadata.name, `web-${hash}`)
    assert.deepEqual(rs!.metadata.labels, { app: 'web', 'pod-template-hash': hash })
    assert.deepEqual((rs!.spec as Rec).selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } })
    assert.deepEqual(rs!.metadata.annotations, { 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' })
    assert.deepEqual(rs!.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: c.get('deployments', 'web')!.metadata.uid, controller: true, blockOwnerDeletion: true }])
    assert.equal(c.list('pods').length, 3)
    assert.equal(condition(c, 'Progressing')?.reason, 'NewReplicaSetCreated')
    assert.equal(condition(c, 'Progressing')?.message, `Created new replica set "web-${hash}"`)
    for (let i = 0; i < 3; i++) c.round()
    assert.equal(condition(c, 'Available')?.status, 'False')
    assert.equal(condition(c, 'Available')?.reason, 'MinimumReplicasUnavailable')
    assert.equal(rolledOut(c), false)
    assert.equal(c.get('deployments', 'web')!.metadata.annotations?.['deployment.kubernetes.io/revision'], '1')

    c.autoReady = true
    for (let i = 0; i < 4; i++) c.round()
    assert.deepEqual(status(c), {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: status(c).conditions
    })
    assert.deepEqual([condition(c, 'Available')?.reason, condition(c, 'Progressing')?.reason, condition(c, 'Progressing')?.message],
      ['MinimumReplicasAvailable', 'NewReplicaSetAvailable', `ReplicaSet "web-${hash}" has successfully progressed.`])
    assert.ok(rolledOut(c))
    const events = c.list('events').filter(e => e.reason === 'ScalingReplicaSet').map(e => e.message)
    assert.deepEqual(events, [`Scaled up replica set web-${hash} from 0 to 3`])
    // Nothing left to do: a converged cluster writes nothing.
    const before = c.store.resourceVersion
    c.round()
    assert.equal(c.store.resourceVersion, before)
  })

  const strategies: Array<[string, number, Rec, number, number]> = [
    // name, replicas, rollingUpdate, at least Ready, at most pods
    ['defaults 25%/25% of 3', 3, {}, 3, 4],
    ['maxSurge 0, maxUnavailable 1', 3, { maxSurge: 0, maxUnavailable: 1 }, 2, 3],
    ['maxSurge 100%, maxUnavailable 0', 4, { maxSurge: '100%', maxUnavailable: 0 }, 4, 8],
    ['25%/25% of 10', 10, {}, 8, 13]
  ]
  for (const [name, replicas, rollingUpdate, minReady, maxPods] of strategies) {
    it(`rolling update (${name}) keeps at least ${minReady} Ready pods and at most ${maxPods} pods, and ends with the old ReplicaSet at 0`, () => {
      const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'] })
      c.put('deployments', deployment('web', replicas, 'web:1', { strategy: { type: 'RollingUpdate', rollingUpdate } }))
      untilRolledOut(c)
      setImage(c, 'web', 'web:2')
      let sawBoth = false
      const check = (): void => {
        const pods = c.list('pods')
        const ready = pods.filter(isPodReady).length
        assert.ok(ready >= minReady, `only ${ready} Ready pods`)
        assert.ok(pods.length <= maxPods, `${pods.length} pods`)
        if (new Set(pods.map(imageOf)).size === 2) sawBoth = true
      }
      // Check after every step of every round, not just between rounds.
      for (let i = 0; i < 60 && !(rolledOut(c) && c.list('pods').every(p => imageOf(p) === 'web:2') && c.list('pods').length === replicas); i++) {
        c.runDeployments(); check()
        c.runReplicaSets(); check()
        c.runGc(); check()
        c.schedule(); check()
        c.kubelets(); check()
        c.advance(1)
      }
      assert.ok(sawBoth, 'old and new pods ran side by side')
      assert.ok(rolledOut(c))
      assert.deepEqual(replicaSets(c).map(([image, n, rev]) => [image, n, rev]).sort(), [['web:1', 0, '1'], ['web:2', replicas, '2']])
      assert.ok(c.list('pods').every(p => imageOf(p) === 'web:2'))
      assert.equal(c.get('deployments', 'web')!.metadata.annotations?.['deployment.kubernetes.io/revision'], '2')
      assert.equal(condition(c, 'Progressing')?.reason, 'NewReplicaSetAvailable')
      assert.deepEqual(c.refused, [])
    })
  }

  it('undo (the old template back) revives the old ReplicaSet with a new revision and its history', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2'] })
    c.put('deployments', deployment('web', 3, 'web:1'))
    untilRolledOut(c)
    const first = c.list('replicasets')[0]!.metadata.name
    setImage(c, 'web', 'web:2')
    untilRolledOut(c)
    setImage(c, 'web', 'web:1')
    untilRolledOut(c)
    const revived = c.get('replicasets', first)!
    assert.equal((revived.spec as Rec).replicas, 3)
    assert.equal(revived.metadata.annotations?.['deployment.kubernetes.io/revision'], '3')
    assert.equal(revived.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1')
    assert.deepEqual(replicaSets(c).map(([image, n, rev]) => [image, n, rev]).sort(), [['web:1', 3, '3'], ['web:2', 0, '2']])
    assert.equal(c.list('replicasets').length, 2)
    assert.equal(c.get('deployments', 'web')!.metadata.annotations?.['deployment.kubernetes.io/revision'], '3')
    assert.ok(c.list('pods').every(p => imageOf(p) === 'web:1'))
  })

  it('Recreate scales the old ReplicaSet to 0, waits for its pods to go, then brings the new one up', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'] })
    c.put('deployments', deployment('web', 3, 'web:1', { strategy: { type: 'Recreate' } }))
    untilRolledOut(c)
    setImage(c, 'web', 'web:2')
    let sawNone = false
    untilRolledOut(c, () => {
      const images = new Set(c.list('pods').map(imageOf))
      assert.ok(images.size <= 1, 'old and new pods never run together')
      if (images.size === 0) sawNone = true
    })
    assert.ok(sawNone)
    assert.deepEqual(replicaSets(c).map(([image, n]) => [image, n]).sort(), [['web:1', 0], ['web:2', 3]])
    const events = c.list('events').filter(e => e.reason === 'ScalingReplicaSet').map(e => String(e.message).replace(/web-\w+/, 'web-H'))
    assert.deepEqual(events, ['Scaled up replica set web-H from 0 to 3', 'Scaled down replica set web-H from 3 to 0', 'Scaled up replica set web-H from 0 to 3'])
  })

  it('scaling down deletes the least valuable pods: unscheduled, then not Ready', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'] })
    c.put('deployments', deployment('web', 3, 'web:1'))
    untilRolledOut(c)
    c.patch('deployments', 'web', { spec: { replicas: 6 } })
    c.runDeployments()
    c.runReplicaSets() // 3 new pods, unscheduled
    c.schedule()
    const fresh = c.list('pods').filter(p => !isPodReady(p))
    assert.equal(fresh.length, 3)
    c.kubelets(p => p.metadata.name === fresh[0]!.metadata.name) // one of them becomes Ready
    c.patch('deployments', 'web', { spec: { replicas: 4 } })
    c.advance(1)
    c.runDeployments()
    c.runReplicaSets()
    const left = c.list('pods').map(p => p.metadata.name)
    assert.equal(left.length, 4)
    assert.ok(left.includes(fresh[0]!.metadata.name))
    assert.ok(!left.includes(fresh[1]!.metadata.name) && !left.includes(fresh[2]!.metadata.name))
    assert.match(c.list('events').map(e => String(e.message)).filter(m => m.startsWith('Scaled down')).join(), /^Scaled down replica set web-\w+ from 6 to 4$/)
  })

  it('scaling in the middle of a rolling update splits the new size in proportion', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'], autoReady: false })
    c.put('deployments', deployment('web', 10, 'web:1'))
    c.autoReady = true
    untilRolledOut(c)
    c.autoReady = false
    setImage(c, 'web', 'web:2')
    for (let i = 0; i < 3; i++) c.round() // new pods never get Ready: the rollout stalls at maxSurge
    const sizes = (): number[] => replicaSets(c).map(([image, n]) => [image, n] as [string, number]).sort().map(([, n]) => n)
    assert.deepEqual(sizes(), [8, 5])
    c.patch('deployments', 'web', { spec: { replicas: 20 } })
    c.round()
    // 13 → 25 allowed (20 + 25% surge): old 8 → 15, new 5 → 10, as Kubernetes' proportions give.
    assert.deepEqual(sizes(), [15, 10])
  })

  it('paused: a template change starts nothing, scaling still applies; resuming rolls out', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2'] })
    c.put('deployments', deployment('web', 2, 'web:1'))
    untilRolledOut(c)
    c.patch('deployments', 'web', { spec: { paused: true } })
    setImage(c, 'web', 'web:2')
    c.patch('deployments', 'web', { spec: { replicas: 3 } })
    for (let i = 0; i < 3; i++) c.round()
    assert.deepEqual(replicaSets(c).map(([image, n]) => [image, n]), [['web:1', 3]])
    assert.deepEqual([condition(c, 'Progressing')?.status, condition(c, 'Progressing')?.reason, condition(c, 'Progressing')?.message], ['Unknown', 'DeploymentPaused', 'Deployment is paused'])
    assert.equal(status(c).observedGeneration, c.get('deployments', 'web')!.metadata.generation)
    c.patch('deployments', 'web', { spec: { paused: false } })
    untilRolledOut(c)
    assert.deepEqual(replicaSets(c).map(([image, n]) => [image, n]).sort(), [['web:1', 0], ['web:2', 3]])
  })

  it('a rollout with no progress past progressDeadlineSeconds is ProgressDeadlineExceeded', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    c.put('deployments', deployment('web', 2, 'web:1', { progressDeadlineSeconds: 10 }))
    untilRolledOut(c)
    c.autoReady = false
    setImage(c, 'web', 'web:2')
    for (let i = 0; i < 5; i++) c.round(1)
    assert.equal(condition(c, 'Progressing')?.reason, 'ReplicaSetUpdated')
    assert.match(condition(c, 'Progressing')?.message, /^ReplicaSet "web-\w+" is progressing\.$/)
    for (let i = 0; i < 12; i++) c.round(1)
    assert.deepEqual([condition(c, 'Progressing')?.status, condition(c, 'Progressing')?.reason], ['False', 'ProgressDeadlineExceeded'])
    assert.match(condition(c, 'Progressing')?.message, /^ReplicaSet "web-\w+" has timed out progressing\.$/)
  })

  it('keeps revisionHistoryLimit old ReplicaSets, deleting the oldest', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    c.put('deployments', deployment('web', 1, 'web:1', { revisionHistoryLimit: 1 }))
    untilRolledOut(c)
    for (const image of ['web:2', 'web:3', 'web:4']) {
      setImage(c, 'web', image)
      untilRolledOut(c)
      c.round()
    }
    assert.deepEqual(replicaSets(c).map(([image, n, rev]) => [image, n, rev]).sort(), [['web:3', 0, '3'], ['web:4', 1, '4']])
  })

  it('a name taken by another template bumps collisionCount and uses a new hash', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    const d = c.put('deployments', deployment('web', 1, 'web:1'))
    const taken = `web-${computeHash((d.spec as Rec).template)}`
    c.put('replicasets', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: taken, namespace: 'default', labels: { other: 'x' } }, spec: { replicas: 0, selector: { matchLabels: { other: 'x' } }, template: { metadata: { labels: { other: 'x' } }, spec: { containers: [{ name: 'app', image: 'other' }] } } } })
    untilRolledOut(c)
    assert.equal(status(c).collisionCount, 1)
    const mine = c.list('replicasets').filter(rs => rs.metadata.name !== taken)
    assert.equal(mine.length, 1)
    assert.equal(mine[0]!.metadata.name, `web-${computeHash((d.spec as Rec).template, 1)}`)
  })

  it('deleting the Deployment removes its ReplicaSets, then their pods', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2'] })
    c.put('deployments', deployment('web', 3, 'web:1'))
    untilRolledOut(c)
    c.delete('deployments', 'web')
    c.round()
    assert.equal(c.list('replicasets').length, 0)
    assert.equal(c.list('pods').length, 3)
    c.round()
    assert.equal(c.list('pods').length, 0)
  })

  it('a node NotReady past the grace period loses its pods, and the ReplicaSet replaces them elsewhere', () => {
    const c = new TestCluster({ nodes: ['n1', 'n2', 'n3'], podEvictionTimeoutSeconds: 3 })
    c.put('deployments', deployment('web', 3, 'web:1'))
    untilRolledOut(c)
    const onN1 = c.list('pods').filter(p => podNodeName(p) === 'n1').map(p => p.metadata.name)
    assert.equal(onN1.length, 1)
    c.setNodeReady('n1', 'Unknown')
    c.round(1)
    assert.equal(isPodReady(c.get('pods', onN1[0]!)!), false, 'marked not Ready at once')
    c.round(1)
    assert.equal((c.list('replicasets')[0]!.status as Rec).availableReplicas, 2, 'the ReplicaSet counts it a round later')
    c.round(1)
    assert.equal(status(c).availableReplicas, 2, 'and the Deployment a round after that')
    assert.equal(condition(c, 'Available')?.reason, 'MinimumReplicasUnavailable', '25% of 3 rounds down to 0 unavailable allowed')
    assert.ok(c.get('pods', onN1[0]!) !== undefined, 'not yet past the grace period')
    untilRolledOut(c)
    assert.equal(c.get('pods', onN1[0]!), undefined)
    assert.ok(c.list('pods').every(p => podNodeName(p) !== 'n1'))
    assert.equal(c.list('pods').filter(isPodReady).length, 3)
    assert.ok(c.list('events').some(e => e.reason === 'TaintManagerEviction' && e.message === `Marking for deletion Pod default/${onN1[0]!}`))
  })

  it('a new leader that reads the same store creates nothing twice', () => {
    const c = new TestCluster({ nodes: ['n1'] })
    c.put('deployments', deployment('web', 5, 'web:1'))
    c.runDeployments()
    c.runReplicaSets()
    assert.equal(c.list('pods').length, 5)
    // Another agent takes over: fresh controllers over the same replica.
    const again = [
      ...reconcileDeployments({ deployments: c.list('deployments'), replicaSets: c.list('replicasets'), pods: c.list('pods'), now: c.now, eventName: n => n }),
      ...reconcileReplicaSets({ replicaSets: c.list('replicasets'), pods: c.list('pods'), now: c.now, podNameSuffix: () => 'zzzzz', eventName: n => n })
    ]
    assert.deepEqual(again.filter(x => x.op === 'create'), [])
  })
})

describe('deployment controller, one key at a time', () => {
  const T0 = '2026-01-01T00:00:00Z'
  const d = (extra: Record<string, unknown> = {}, status: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'u-web', resourceVersion: '1', creationTimestamp: T0 }, spec: { selector: { matchLabels: { app: 'web' } }, ...extra }, status })
  const rs = (labels: Record<string, string>, owner?: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', namespace: 'default', uid: 'u-rs', resourceVersion: '1', creationTimestamp: T0, labels, ...(owner !== undefined ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: 'u', controller: true }] } : {}) } })

  it('a ReplicaSet concerns its controlling Deployment; an orphan, those that would adopt it', () => {
    assert.deepEqual(deploymentKeysForReplicaSet(rs({ app: 'x' }, 'web'), []), ['default/web'])
    assert.deepEqual(deploymentKeysForReplicaSet(rs({ app: 'web' }), [d()]), ['default/web'])
    assert.deepEqual(deploymentKeysForReplicaSet(rs({ app: 'db' }), [d()]), [])
  })

  it('untilProgressDeadlineMs: while Progressing, the wait until its deadline; none once complete or without a deadline', () => {
    const progressing = (reason: string): Record<string, unknown> => ({ conditions: [{ type: 'Progressing', status: 'True', reason, lastUpdateTime: T0, lastTransitionTime: T0 }] })
    const nowMs = Date.parse(T0) + 4000
    assert.equal(untilProgressDeadlineMs(d({ progressDeadlineSeconds: 10 }, progressing('ReplicaSetUpdated')), nowMs), 6000 + 1000)
    assert.equal(untilProgressDeadlineMs(d({}, progressing('ReplicaSetUpdated')), nowMs), 596_000 + 1000, 'the default deadline, 600 s')
    assert.equal(untilProgressDeadlineMs(d({ progressDeadlineSeconds: 10 }, progressing('NewReplicaSetAvailable')), nowMs), undefined)
    assert.equal(untilProgressDeadlineMs(d({ progressDeadlineSeconds: 2147483647 }, progressing('ReplicaSetUpdated')), nowMs), undefined)
  })
})
