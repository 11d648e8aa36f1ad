import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore } from '../store/store.ts'
import type { KubeObject, Result } from '../store/types.ts'
import { batchOf, bindingBatches, bindingCommands, splitBatchResult, unschedulableCommands, type EventIds } from './bind.ts'
import { schedule } from './schedule.ts'
import { NOW, node, pod } from './test-fixtures.ts'

function ids (): EventIds {
  let n = 0
  return { eventName: p => `${p.metadata.name}.${(++n).toString(16)}`, uid: () => `event-uid-${n}` }
}

function ok (r: Result): KubeObject {
  if (!r.ok) assert.fail(`${r.reason}: ${r.message}`)
  return r.object
}

/** A store holding pending pods web-0..web-(n-1); returns the stored pods as the scheduler would read them. */
function storeWith (n: number): { store: ObjectStore, pods: KubeObject[], next: () => number } {
  const store = new ObjectStore()
  let index = 0
  const pods: KubeObject[] = []
  for (let i = 0; i < n; i++) {
    const { metadata, ...rest } = pod(`web-${i}`, { owner: 'rs-web', created: i })
    pods.push(ok(store.apply(++index, { op: 'create', resource: 'pods', object: { ...rest, metadata: { name: metadata.name, namespace: 'default', ownerReferences: metadata.ownerReferences } }, uid: `uid-web-${i}`, now: NOW })))
  }
  return { store, pods, next: () => ++index }
}

describe('bindingCommands', () => {
  it('patches spec.nodeName under the uid and resourceVersion read, with a Scheduled event', () => {
    const p = pod('web-1')
    const [plan] = bindingCommands({ bindings: [{ pod: p, nodeName: 'node-2' }], unschedulable: [] }, NOW, ids())
    const [patch, event] = plan!.commands
    assert.deepEqual(patch, {
      op: 'patch',
      resource: 'pods',
      namespace: 'default',
      name: 'web-1',
      patch: { spec: { nodeName: 'node-2' }, status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: NOW }] } },
      now: NOW,
      precondition: { uid: 'uid-web-1', resourceVersion: '10' }
    })
    assert.equal(event.op, 'create')
    assert.equal(event.resource, 'events')
    assert.equal(event.uid, 'event-uid-1')
    const o = event.object as Record<string, unknown>
    assert.deepEqual(
      { name: event.object.metadata.name, namespace: event.object.metadata.namespace, type: o.type, reason: o.reason, message: o.message, source: o.source, involvedObject: o.involvedObject },
      {
        name: 'web-1.1',
        namespace: 'default',
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned default/web-1 to node-2',
        source: { component: 'default-scheduler' },
        involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'uid-web-1', apiVersion: 'v1', resourceVersion: '10' }
      }
    )
  })

  it('binds in the store, and the pod then reads as bound and scheduled', () => {
    const { store, pods, next } = storeWith(3)
    const result = schedule({ pending: pods, nodes: [node('n1'), node('n2'), node('n3')], bound: [], now: NOW })
    const plans = bindingCommands(result, NOW, ids())
    assert.equal(store.apply(next(), batchOf(plans)).ok, true)
    const stored = store.list('pods', { fieldSelector: 'spec.nodeName=n1' })
    assert.ok(stored.ok)
    assert.equal(stored.items.length, 1)
    assert.deepEqual((stored.items[0]!.status as { conditions: unknown[] }).conditions, [{ type: 'PodScheduled', status: 'True', lastTransitionTime: NOW }])
    const events = store.list('events', {})
    assert.ok(events.ok)
    assert.equal(events.items.length, 3)
  })
})

describe('batches that fail for one pod', () => {
  it('splitBatchResult drops the pod that vanished and the rest bind on the retry', () => {
    const { store, pods, next } = storeWith(4)
    const plans = bindingCommands(schedule({ pending: pods, nodes: [node('n1'), node('n2')], bound: [], now: NOW }), NOW, ids())
    ok(store.apply(next(), { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-2' }))
    const first = store.apply(next(), batchOf(plans))
    assert.equal(first.ok, false)
    const outcome = splitBatchResult(plans, first)
    assert.deepEqual(outcome.failed.map(f => [f.plan.pod.metadata.name, f.failure.reason]), [['web-2', 'NotFound']])
    assert.deepEqual(outcome.retry.map(p => p.pod.metadata.name), ['web-0', 'web-1', 'web-3'])
    const second = store.apply(next(), batchOf(outcome.retry))
    assert.equal(second.ok, true)
    assert.deepEqual(splitBatchResult(outcome.retry, second).bound.length, 3)
  })

  it('a pod changed since it was read is not bound (Conflict)', () => {
    const { store, pods, next } = storeWith(1)
    const plans = bindingCommands(schedule({ pending: pods, nodes: [node('n1')], bound: [], now: NOW }), NOW, ids())
    ok(store.apply(next(), { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-0', patch: { metadata: { labels: { x: 'y' } } }, now: NOW }))
    const outcome = splitBatchResult(plans, store.apply(next(), batchOf(plans)))
    assert.deepEqual(outcome.failed.map(f => f.failure.reason), ['Conflict'])
    assert.deepEqual(outcome.retry, [])
  })

  it('bindingBatches cuts the plans into batches of a given size, in order', () => {
    const plans = bindingCommands({ bindings: Array.from({ length: 5 }, (_, i) => ({ pod: pod(`p${i}`), nodeName: 'n1' })), unschedulable: [] }, NOW, ids())
    const batches = bindingBatches(plans, 2)
    assert.deepEqual(batches.map(b => b.plans.map(p => p.pod.metadata.name)), [['p0', 'p1'], ['p2', 'p3'], ['p4']])
    assert.equal(batches[0]!.command.commands.length, 4)
  })
})

describe('unschedulableCommands', () => {
  it('sets PodScheduled=False with the message and records FailedScheduling, once per message', () => {
    const { store, pods, next } = storeWith(1)
    const [u] = schedule({ pending: pods, nodes: [node('n1', { unschedulable: true })], bound: [], now: NOW }).unschedulable
    const commands = unschedulableCommands(u!, NOW, ids())
    assert.equal(commands.length, 2)
    const event = commands[1]!
    assert.ok(event.op === 'create')
    assert.deepEqual([event.object.type, event.object.reason, event.object.message], ['Warning', 'FailedScheduling', '0/1 nodes are available: 1 node(s) were unschedulable.'])
    for (const c of commands) ok(store.apply(next(), c))
    const updated = store.get('pods', 'default', 'web-0')!
    assert.deepEqual((updated.status as { conditions: unknown[] }).conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 node(s) were unschedulable.', lastTransitionTime: NOW }])
    const again = schedule({ pending: [updated], nodes: [node('n1', { unschedulable: true })], bound: [], now: NOW }).unschedulable[0]!
    assert.deepEqual(unschedulableCommands(again, NOW, ids()), [])
    const changed = schedule({ pending: [updated], nodes: [node('n1', { ready: 'False' })], bound: [], now: NOW }).unschedulable[0]!
    assert.equal(unschedulableCommands(changed, NOW, ids()).length, 2)
  })
})
