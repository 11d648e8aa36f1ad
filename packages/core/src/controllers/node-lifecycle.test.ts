import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { reconcileNodeLifecycle, toleratedSeconds } from './node-lifecycle.ts'
import { TestCluster } from '../testing/controller-cluster.ts'
import type { KubeObject } from '../store/types.ts'
import { isPodReady } from './common.ts'

type Rec = Record<string, any>

function setup (): TestCluster {
  const c = new TestCluster({ nodes: ['n1', 'n2'] })
  for (const [name, node, tolerations] of [['a', 'n1', undefined], ['b', 'n2', undefined], ['t', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]]] as const) {
    c.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'app', image: 'x' }], ...(tolerations !== undefined ? { tolerations } : {}) } })
  }
  c.kubelets()
  return c
}

function run (c: TestCluster, timeout = 5): void {
  c.apply(reconcileNodeLifecycle({ nodes: c.list('nodes'), pods: c.list('pods'), now: c.now, eventName: c.eventName, podEvictionTimeoutSeconds: timeout }))
}

const taints = (c: TestCluster, node: string): unknown => (c.get('nodes', node, '')!.spec as Rec).taints
const names = (c: TestCluster): string[] => c.list('pods').map(p => p.metadata.name)

describe('node lifecycle controller', () => {
  it('taints a node that is not Ready, marks its pods not Ready, and deletes them after the timeout', () => {
    const c = setup()
    run(c)
    assert.deepEqual(c.refused, [])
    assert.equal(taints(c, 'n1'), undefined, 'a Ready node is not tainted')
    c.setNodeReady('n1', 'Unknown')
    const since = c.now
    c.advance(1)
    run(c)
    assert.deepEqual(taints(c, 'n1'), [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: c.now }])
    assert.equal(isPodReady(c.get('pods', 'a')!), false)
    assert.equal(isPodReady(c.get('pods', 'b')!), true)
    assert.deepEqual(names(c), ['a', 'b', 't'])
    assert.ok(c.list('events').some(e => e.reason === 'NodeNotReady' && (e.involvedObject as Rec).name === 'a'))
    c.advance(4)
    run(c)
    assert.deepEqual(names(c), ['b', 't'], `evicted 5 s after ${since}; t tolerates it for 60 s`)
    assert.ok(c.list('events').some(e => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/a'))
    c.advance(60)
    run(c)
    assert.deepEqual(names(c), ['b'])
  })

  it('Ready=False taints not-ready; Ready again removes the taints', () => {
    const c = setup()
    c.setNodeReady('n2', 'False')
    run(c)
    assert.deepEqual((taints(c, 'n2') as Rec[]).map(t => `${t.key}:${t.effect}`), ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'])
    c.setNodeReady('n2', 'True')
    run(c)
    assert.equal(taints(c, 'n2'), undefined)
  })

  it('keeps the user\'s taints', () => {
    const c = setup()
    c.patch('nodes', 'n1', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }, '')
    c.setNodeReady('n1', 'Unknown')
    run(c)
    assert.deepEqual((taints(c, 'n1') as Rec[]).map(t => t.key), ['dedicated', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/unreachable'])
  })

  it('deletes the pods of a Node that is gone', () => {
    const c = setup()
    c.delete('nodes', 'n1', '')
    run(c)
    assert.deepEqual(names(c), ['b'])
  })

  it('evicts nothing when no node is Ready', () => {
    const c = setup()
    c.setNodeReady('n1', 'Unknown')
    c.setNodeReady('n2', 'Unknown')
    c.advance(100)
    run(c)
    assert.deepEqual(names(c), ['a', 'b', 't'])
  })

  const pod = (tolerations: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u', resourceVersion: '1', creationTimestamp: '' }, spec: { tolerations } })
  const cases: Array<[string, unknown[], number | undefined]> = [
    ['none', [], undefined],
    ['exact key, with seconds', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }], 30],
    ['Exists with no key tolerates everything, forever', [{ operator: 'Exists' }], Infinity],
    ['the smallest of several', [{ operator: 'Exists', tolerationSeconds: 50 }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 20 }], 20],
    ['NoSchedule only does not count', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }], undefined],
    ['another key does not count', [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }], undefined],
    ['negative seconds count as 0', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: -5 }], 0]
  ]
  for (const [name, tolerations, expected] of cases) {
    it(`tolerations: ${name}`, () => {
      assert.equal(toleratedSeconds(pod(tolerations), 'node.kubernetes.io/unreachable'), expected)
    })
  }
})
