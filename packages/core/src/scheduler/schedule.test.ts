import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject } from '../store/types.ts'
import { schedule } from './schedule.ts'
import { NOW, node, pod } from './test-fixtures.ts'

/** Where each pod went, `name→node`, and each unplaced pod's message. */
function run (pending: KubeObject[], nodes: KubeObject[], bound: KubeObject[] = []): { placed: Record<string, string>, refused: Record<string, string> } {
  const r = schedule({ pending, nodes, bound, now: NOW })
  return {
    placed: Object.fromEntries(r.bindings.map(b => [b.pod.metadata.name, b.nodeName])),
    refused: Object.fromEntries(r.unschedulable.map(u => [u.pod.metadata.name, u.message]))
  }
}

/** The message for one pod on one node, or `bound to X`. */
function outcome (p: KubeObject, nodes: KubeObject[], bound: KubeObject[] = []): string {
  const r = run([p], nodes, bound)
  const placed = r.placed[p.metadata.name]
  return placed !== undefined ? `bound to ${placed}` : r.refused[p.metadata.name]!
}

const one = (reason: string): string => `0/1 nodes are available: 1 ${reason}.`

describe('schedule: each filter, in Kubernetes\' words', () => {
  const cases: Array<[string, KubeObject, KubeObject[], KubeObject[], string]> = [
    ['a Ready node takes the pod', pod('p'), [node('n1')], [], 'bound to n1'],
    ['Ready=False: the not-ready taint', pod('p'), [node('n1', { ready: 'False' })], [], one('node(s) had untolerated taint {node.kubernetes.io/not-ready: }')],
    ['Ready=Unknown: the unreachable taint', pod('p'), [node('n1', { ready: 'Unknown' })], [], one('node(s) had untolerated taint {node.kubernetes.io/unreachable: }')],
    ['no Ready condition yet: not-ready', pod('p'), [node('n1', { ready: 'none' })], [], one('node(s) had untolerated taint {node.kubernetes.io/not-ready: }')],
    ['a pod that tolerates not-ready may go there', pod('p', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] }), [node('n1', { ready: 'False' })], [], 'bound to n1'],
    ['cordoned', pod('p'), [node('n1', { unschedulable: true })], [], one('node(s) were unschedulable')],
    ['cordoned and not ready: the first filter speaks', pod('p'), [node('n1', { unschedulable: true, ready: 'False' })], [], one('node(s) were unschedulable')],
    ['cordoned, tolerated', pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), [node('n1', { unschedulable: true })], [], 'bound to n1'],
    ['nodeSelector matches', pod('p', { nodeSelector: { disk: 'ssd' } }), [node('n1', { labels: { disk: 'ssd' } })], [], 'bound to n1'],
    ['nodeSelector does not match', pod('p', { nodeSelector: { disk: 'ssd' } }), [node('n1', { labels: { disk: 'hdd' } })], [], one("node(s) didn't match Pod's node affinity/selector")],
    ['required node affinity does not match', pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } } }), [node('n1', { labels: { zone: 'b' } })], [], one("node(s) didn't match Pod's node affinity/selector")],
    ['required node affinity by name (matchFields)', pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] } } } }), [node('n1'), node('n2')], [], 'bound to n2'],
    ['NoSchedule taint', pod('p'), [node('n1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })], [], one('node(s) had untolerated taint {dedicated: gpu}')],
    ['NoExecute taint', pod('p'), [node('n1', { taints: [{ key: 'maintenance', effect: 'NoExecute' }] })], [], one('node(s) had untolerated taint {maintenance: }')],
    ['PreferNoSchedule does not filter', pod('p'), [node('n1', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })], [], 'bound to n1'],
    ['tolerated taint', pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), [node('n1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })], [], 'bound to n1'],
    ['Insufficient cpu', pod('p', { cpu: '5' }), [node('n1')], [], one('Insufficient cpu')],
    ['Insufficient memory, counting bound pods', pod('p', { memory: '5Gi' }), [node('n1')], [pod('old', { memory: '4Gi', nodeName: 'n1' })], one('Insufficient memory')],
    ['every shortage of a node counts', pod('p', { cpu: '5', memory: '9Gi' }), [node('n1')], [], '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.'],
    ['Too many pods', pod('p'), [node('n1', { pods: '1' })], [pod('old', { nodeName: 'n1' })], one('Too many pods')],
    ['finished pods free their resources and slot', pod('p', { memory: '8Gi' }), [node('n1', { pods: '1' })], [pod('old', { memory: '4Gi', nodeName: 'n1', phase: 'Succeeded' })], 'bound to n1'],
    ['a pod being deleted still holds its resources', pod('p', { memory: '5Gi' }), [node('n1')], [pod('old', { memory: '4Gi', nodeName: 'n1', meta: { deletionTimestamp: NOW } })], one('Insufficient memory')],
    ['host port taken', pod('p', { hostPort: 8080 }), [node('n1')], [pod('old', { hostPort: 8080, nodeName: 'n1' })], one("node(s) didn't have free ports for the requested pod ports")],
    ['another host port is fine', pod('p', { hostPort: 8081 }), [node('n1')], [pod('old', { hostPort: 8080, nodeName: 'n1' })], 'bound to n1'],
    ['no nodes at all', pod('p'), [], [], 'no nodes available to schedule pods']
  ]
  for (const [what, p, nodes, bound, want] of cases) it(what, () => assert.equal(outcome(p, nodes, bound), want))
})

describe('schedule: the FailedScheduling message', () => {
  it('counts nodes per reason, sorted as Go sorts "COUNT REASON" strings', () => {
    const nodes = [node('n1', { memory: '1Gi' }), node('n2', { memory: '1Gi' }), node('n3', { labels: { disk: 'hdd' } })]
    const p = pod('p', { memory: '2Gi', nodeSelector: { disk: 'ssd' } })
    // n1, n2 lack the label too: the affinity filter runs before the resources one, so all three fail it.
    assert.equal(outcome(p, nodes), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
    const labelled = [node('n1', { memory: '1Gi', labels: { disk: 'ssd' } }), node('n2', { memory: '1Gi', labels: { disk: 'ssd' } }), node('n3', { labels: { disk: 'hdd' } })]
    assert.equal(outcome(p, labelled), "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient memory.")
    const r = schedule({ pending: [p], nodes: labelled, bound: [], now: NOW })
    assert.deepEqual(r.unschedulable[0]!.reasons, { "node(s) didn't match Pod's node affinity/selector": 1, 'Insufficient memory': 2 })
  })

  it('mixes cordon, taints and resources', () => {
    const nodes = [node('a', { unschedulable: true }), node('b', { ready: 'Unknown' }), node('c', { cpu: '1' }), node('d', { cpu: '1' })]
    assert.equal(outcome(pod('p', { cpu: '2' }), nodes), '0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable, 2 Insufficient cpu.')
  })
})

describe('schedule: scoring', () => {
  it('least allocated: the emptier node wins', () => {
    const nodes = [node('n1'), node('n2')]
    assert.equal(outcome(pod('p', { cpu: '1', memory: '1Gi' }), nodes, [pod('old', { cpu: '2', memory: '2Gi', nodeName: 'n1' })]), 'bound to n2')
    assert.equal(outcome(pod('p', { cpu: '1', memory: '1Gi' }), nodes, [pod('old', { cpu: '2', memory: '2Gi', nodeName: 'n2' })]), 'bound to n1')
  })

  it('least allocated: the bigger node wins when both are empty', () => {
    assert.equal(outcome(pod('p', { cpu: '1', memory: '1Gi' }), [node('big', { cpu: '16', memory: '64Gi' }), node('a-small', { cpu: '2', memory: '4Gi' })]), 'bound to big')
  })

  it('pods without requests count 100m and 200Mi for scoring, so they spread too', () => {
    const pending = Array.from({ length: 6 }, (_, i) => pod(`be-${i}`))
    const r = run(pending, [node('n1'), node('n2'), node('n3')])
    assert.deepEqual(countBy(Object.values(r.placed)), { n1: 2, n2: 2, n3: 2 })
  })

  it('spreads 6 replicas of one owner over 3 equal nodes, 2 each', () => {
    const pending = Array.from({ length: 6 }, (_, i) => pod(`web-${i}`, { owner: 'rs-web', cpu: '100m', memory: '128Mi' }))
    const r = run(pending, [node('n1'), node('n2'), node('n3')])
    assert.deepEqual(countBy(Object.values(r.placed)), { n1: 2, n2: 2, n3: 2 })
  })

  it('spreading counts the owner\'s pods already bound, even where other pods use more', () => {
    // n1 is emptier for resources but already holds 2 replicas; n2 is busier with someone else's pod.
    const bound = [pod('web-a', { owner: 'rs-web', nodeName: 'n1' }), pod('web-b', { owner: 'rs-web', nodeName: 'n1' }), pod('db', { cpu: '1', memory: '2Gi', nodeName: 'n2' })]
    const r = run([pod('web-c', { owner: 'rs-web' })], [node('n1'), node('n2')], bound)
    assert.deepEqual(r.placed, { 'web-c': 'n2' })
  })

  it('pods with the same labels and no controller spread as one owner; other namespaces do not count', () => {
    const bound = [pod('a', { labels: { app: 'x' }, nodeName: 'n1' }), pod('b', { labels: { app: 'x' }, nodeName: 'n2', namespace: 'other' })]
    assert.deepEqual(run([pod('c', { labels: { app: 'x' } })], [node('n1'), node('n2')], bound).placed, { c: 'n2' })
  })
})

describe('schedule: one round', () => {
  it('consumes capacity as it binds: 10 pods of 1Gi on a 4Gi node → 4 bound, 6 Insufficient memory', () => {
    const pending = Array.from({ length: 10 }, (_, i) => pod(`p-${String(i).padStart(2, '0')}`, { memory: '1Gi', created: i }))
    const r = schedule({ pending, nodes: [node('n1', { memory: '4Gi' })], bound: [], now: NOW })
    assert.deepEqual(r.bindings.map(b => b.pod.metadata.name), ['p-00', 'p-01', 'p-02', 'p-03'])
    assert.equal(r.unschedulable.length, 6)
    for (const u of r.unschedulable) assert.equal(u.message, '0/1 nodes are available: 1 Insufficient memory.')
  })

  it('host ports taken earlier in the round count', () => {
    const pending = [0, 1, 2].map(i => pod(`p${i}`, { hostPort: 80, created: i }))
    const r = run(pending, [node('n1'), node('n2')])
    assert.deepEqual(r.placed, { p0: 'n1', p1: 'n2' })
    assert.deepEqual(r.refused, { p2: "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports." })
  })

  it('takes pods by priority, then age, then namespace/name', () => {
    const pending = [pod('young', { memory: '3Gi', created: 10 }), pod('old', { memory: '3Gi', created: 1 }), pod('vip', { memory: '3Gi', created: 20, priority: 1000 })]
    const r = run(pending, [node('n1', { memory: '4Gi' }), node('n2', { memory: '4Gi' })])
    assert.deepEqual(Object.keys(r.placed).sort(), ['old', 'vip'])
    assert.deepEqual(Object.keys(r.refused), ['young'])
  })

  it('leaves alone pods that are bound, being deleted, finished, gated or another scheduler\'s', () => {
    const pending = [
      pod('bound', { nodeName: 'n1' }),
      pod('deleting', { meta: { deletionTimestamp: NOW } }),
      pod('done', { phase: 'Failed' }),
      pod('gated', { spec: { schedulingGates: [{ name: 'wait' }] } }),
      pod('theirs', { spec: { schedulerName: 'my-scheduler' } }),
      pod('ours', { spec: { schedulerName: 'default-scheduler' } })
    ]
    assert.deepEqual(run(pending, [node('n1')]), { placed: { ours: 'n1' }, refused: {} })
  })

  it('is deterministic: input order does not matter, ties go to the first node by name', () => {
    const pending = Array.from({ length: 12 }, (_, i) => pod(`p-${i}`, { owner: `rs-${i % 3}`, cpu: '250m', memory: '256Mi' }))
    const nodes = [node('c'), node('a'), node('b')]
    const first = schedule({ pending, nodes, bound: [], now: NOW })
    const again = schedule({ pending: [...pending].reverse(), nodes: [...nodes].reverse(), bound: [], now: NOW })
    assert.deepEqual(again.bindings.map(b => [b.pod.metadata.name, b.nodeName]), first.bindings.map(b => [b.pod.metadata.name, b.nodeName]))
    assert.equal(outcome(pod('solo'), [node('z'), node('m'), node('b')]), 'bound to b')
  })
})

describe('schedule: scale', () => {
  it('10,000 pending pods over 100 nodes in well under 10 s', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => node(`node-${String(i).padStart(3, '0')}`, { cpu: '64', memory: '256Gi', pods: '200' }))
    const pending = Array.from({ length: 10_000 }, (_, i) => pod(`p-${i}`, { owner: `rs-${i % 200}`, cpu: '100m', memory: '256Mi', created: i % 600, ...(i % 10 === 0 ? { hostPort: 9000 + (i / 10) % 50 } : {}) }))
    const started = performance.now()
    const r = schedule({ pending, nodes, bound: [], now: NOW })
    const ms = performance.now() - started
    process.stdout.write(`# scheduled ${r.bindings.length} of ${pending.length} pods over ${nodes.length} nodes in ${ms.toFixed(0)} ms (${Math.round(pending.length / (ms / 1000))} pods/s)\n`)
    assert.equal(r.bindings.length, 10_000)
    const perNode = Object.values(countBy(r.bindings.map(b => b.nodeName)))
    // Scores are whole numbers, as in Kubernetes (1% of 64 cpu is 6 of these pods, of 256Gi 10), so the balance is close, not exact.
    assert.ok(Math.min(...perNode) >= 90 && Math.max(...perNode) <= 110, `per node: ${Math.min(...perNode)}..${Math.max(...perNode)}`)
    assert.ok(ms < 10_000, `took ${ms} ms`)
  })
})

function countBy (xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of [...xs].sort()) out[x] = (out[x] ?? 0) + 1
  return out
}
