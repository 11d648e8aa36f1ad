import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore } from './store.ts'
import { InvalidConfigError } from '../errors.ts'
import type { Command, KubeObject, ObjectCommand, ObjectInput, Result, WatchEvent, WatchOptions } from './types.ts'
import { seededRandom } from '../rand.ts'

const NOW = '2026-01-01T00:00:00Z'
const LATER = '2026-01-01T00:05:00Z'

function pod (name: string, extra: { namespace?: string, labels?: Record<string, string>, nodeName?: string, status?: unknown } = {}): ObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'default', labels: extra.labels ?? { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'img:1' }], ...(extra.nodeName !== undefined ? { nodeName: extra.nodeName } : {}) },
    ...(extra.status !== undefined ? { status: extra.status } : {})
  }
}

const createPod = (object: ObjectInput): ObjectCommand => ({ op: 'create', resource: 'pods', object, uid: `uid-${object.metadata.name}`, now: NOW })

/** The stored object of a successful result; fails the test otherwise. */
function ok (r: Result): KubeObject {
  if (!r.ok) assert.fail(`expected success, got ${r.reason}: ${r.message}`)
  return r.object
}

/** A store holding pods web-1 (index 1) and web-2 (index 2) in namespace default. */
function storeWithPods (): ObjectStore {
  const store = new ObjectStore()
  ok(store.apply(1, createPod(pod('web-1'))))
  ok(store.apply(2, createPod(pod('web-2'))))
  return store
}

function watchAll (store: ObjectStore, options: Omit<WatchOptions, 'resource'> & { resource?: string } = {}): WatchEvent[] {
  const events: WatchEvent[] = []
  const r = store.watch({ resource: 'pods', ...options }, e => events.push(e))
  assert.ok(r.ok, JSON.stringify(r))
  return events
}

const summary = (events: readonly WatchEvent[]): string[] => events.map(e => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`)

describe('ObjectStore: create', () => {
  it('fills in uid, creationTimestamp, resourceVersion (the entry index) and generation 1', () => {
    const store = new ObjectStore()
    store.skip(6)
    const input = pod('web-1')
    const object = ok(store.apply(7, { op: 'create', resource: 'pods', object: { ...input, metadata: { ...input.metadata, uid: 'x', resourceVersion: '99', generation: 5, creationTimestamp: LATER } }, uid: 'u-1', now: NOW }))
    assert.deepEqual(object.metadata, { name: 'web-1', namespace: 'default', labels: { app: 'web' }, uid: 'u-1', resourceVersion: '7', creationTimestamp: NOW, generation: 1 })
    assert.equal(store.get('pods', 'default', 'web-1'), object)
    assert.equal(store.resourceVersion, '7')
  })

  it('gives no generation to an object without a spec, and stores cluster-scoped objects without a namespace', () => {
    const store = new ObjectStore()
    const cm = ok(store.apply(1, { op: 'create', resource: 'namespaces', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', namespace: '' } }, uid: 'u', now: NOW }))
    assert.equal(cm.metadata.generation, undefined)
    assert.equal('namespace' in cm.metadata, false)
    assert.equal(store.get('namespaces', '', 'prod'), cm)
  })

  it('refuses an existing name with AlreadyExists, but the same name in another namespace is another object', () => {
    const store = storeWithPods()
    assert.deepEqual(store.apply(3, createPod(pod('web-1'))), { ok: false, reason: 'AlreadyExists', code: 409, message: 'pods "web-1" already exists' })
    assert.equal(store.get('pods', 'default', 'web-1')?.metadata.resourceVersion, '1')
    ok(store.apply(4, createPod(pod('web-1', { namespace: 'other' }))))
    ok(store.apply(5, { op: 'create', resource: 'replicasets', object: { ...pod('web-1'), kind: 'ReplicaSet' }, uid: 'rs', now: NOW }))
  })

  it('copies the input: changing it afterwards does not change the store', () => {
    const store = new ObjectStore()
    const input = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'web' } }, spec: { n: 1 } }
    store.apply(1, { op: 'create', resource: 'pods', object: input, uid: 'u', now: NOW })
    input.metadata.labels.app = 'db'
    input.spec.n = 2
    assert.deepEqual(store.get('pods', '', 'p')?.metadata.labels, { app: 'web' })
    assert.deepEqual(store.get('pods', '', 'p')?.spec, { n: 1 })
  })
})

describe('ObjectStore: update', () => {
  it('replaces the object, keeps uid and creationTimestamp, and stamps the new index', () => {
    const store = storeWithPods()
    const input = pod('web-1', { labels: { app: 'web', v: '2' } })
    const object = ok(store.apply(5, { op: 'update', resource: 'pods', object: { ...input, metadata: { ...input.metadata, creationTimestamp: LATER } }, now: LATER }))
    assert.equal(object.metadata.uid, 'uid-web-1')
    assert.equal(object.metadata.creationTimestamp, NOW)
    assert.equal(object.metadata.resourceVersion, '5')
    assert.deepEqual(object.metadata.labels, { app: 'web', v: '2' })
    assert.equal(object.metadata.generation, 1, 'labels are not spec')
  })

  it('raises generation only when spec changes, never for status', () => {
    const store = storeWithPods()
    const steps: Array<[ObjectInput, number]> = [
      [pod('web-1', { status: { phase: 'Running' } }), 1],
      [pod('web-1', { nodeName: 'n1', status: { phase: 'Running' } }), 2],
      [pod('web-1', { nodeName: 'n1', status: { phase: 'Failed' } }), 2],
      [pod('web-1', { nodeName: 'n2' }), 3]
    ]
    steps.forEach(([input, generation], i) => {
      const object = ok(store.apply(10 + i, { op: 'update', resource: 'pods', object: input, now: NOW }))
      assert.equal(object.metadata.generation, generation, `step ${i}`)
    })
  })

  it('is refused with NotFound for a missing object', () => {
    const store = storeWithPods()
    assert.deepEqual(store.apply(3, { op: 'update', resource: 'pods', object: pod('web-9'), now: NOW }),
      { ok: false, reason: 'NotFound', code: 404, message: 'pods "web-9" not found' })
  })

  it('treats metadata.resourceVersion as a precondition (optimistic concurrency)', () => {
    const store = storeWithPods()
    const stale = pod('web-1', { labels: { v: 'stale' } })
    const r = store.apply(3, { op: 'update', resource: 'pods', object: { ...stale, metadata: { ...stale.metadata, resourceVersion: '0' } }, now: NOW })
    assert.deepEqual(r, {
      ok: false, reason: 'Conflict', code: 409,
      message: 'Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your changes to the latest version and try again'
    })
    ok(store.apply(4, { op: 'update', resource: 'pods', object: { ...stale, metadata: { ...stale.metadata, resourceVersion: '1' } }, now: NOW }))
    assert.equal(store.get('pods', 'default', 'web-1')?.metadata.resourceVersion, '4')
  })

  it('checks an explicit precondition, which wins over the object\'s resourceVersion', () => {
    const store = storeWithPods()
    const input = pod('web-1', { labels: { v: '2' } })
    const withRv = { ...input, metadata: { ...input.metadata, resourceVersion: '1' } }
    assert.equal(store.apply(3, { op: 'update', resource: 'pods', object: withRv, now: NOW, precondition: { resourceVersion: '2' } }).ok, false)
    ok(store.apply(4, { op: 'update', resource: 'pods', object: input, now: NOW, precondition: { resourceVersion: '1' } }))
  })

  it('refuses an object from an earlier life of the name (different uid) with Conflict', () => {
    const store = storeWithPods()
    const input = pod('web-1')
    const r = store.apply(3, { op: 'update', resource: 'pods', object: { ...input, metadata: { ...input.metadata, uid: 'old' } }, now: NOW })
    assert.ok(!r.ok && r.reason === 'Conflict' && r.message.includes('UID in precondition: old, UID in object meta: uid-web-1'), JSON.stringify(r))
  })

  it('an update that changes nothing writes nothing: same resourceVersion, no event', () => {
    const store = storeWithPods()
    const events = watchAll(store, { fromResourceVersion: '2' })
    const same = ok(store.apply(3, { op: 'update', resource: 'pods', object: pod('web-1'), now: LATER }))
    assert.equal(same.metadata.resourceVersion, '1')
    assert.equal(store.resourceVersion, '3')
    assert.deepEqual(events, [])
  })

  it('keeps a deletionTimestamp once set: it can be neither changed nor cleared', () => {
    const store = storeWithPods()
    const input = pod('web-1')
    ok(store.apply(3, { op: 'update', resource: 'pods', object: { ...input, metadata: { ...input.metadata, deletionTimestamp: NOW } }, now: NOW }))
    const again = ok(store.apply(4, { op: 'update', resource: 'pods', object: { ...input, metadata: { ...input.metadata, deletionTimestamp: LATER } }, now: NOW }))
    assert.equal(again.metadata.deletionTimestamp, NOW)
    assert.equal(ok(store.apply(5, { op: 'update', resource: 'pods', object: input, now: NOW })).metadata.deletionTimestamp, NOW)
  })
})

describe('ObjectStore: patch', () => {
  const patch = (p: unknown, precondition?: { resourceVersion?: string, uid?: string }): ObjectCommand =>
    ({ op: 'patch', resource: 'pods', namespace: 'default', name: 'web-1', patch: p, now: NOW, ...(precondition !== undefined ? { precondition } : {}) })

  it('merges at apply time (RFC 7386) and follows the generation rule', () => {
    const store = storeWithPods()
    const a = ok(store.apply(3, patch({ metadata: { labels: { app: null, tier: 'fe' } }, status: { phase: 'Pending' } })))
    assert.deepEqual(a.metadata.labels, { tier: 'fe' })
    assert.deepEqual(a.status, { phase: 'Pending' })
    assert.equal(a.metadata.generation, 1)
    assert.equal(a.metadata.resourceVersion, '3')
    const b = ok(store.apply(4, patch({ spec: { nodeName: 'n1' } })))
    assert.deepEqual(b.spec, { containers: [{ name: 'c', image: 'img:1' }], nodeName: 'n1' })
    assert.equal(b.metadata.generation, 2)
  })

  it('two patches proposed against the same version both apply, each to the latest state', () => {
    const store = storeWithPods()
    ok(store.apply(3, patch({ metadata: { labels: { a: '1' } } })))
    const b = ok(store.apply(4, patch({ metadata: { labels: { b: '1' } } })))
    assert.deepEqual(b.metadata.labels, { app: 'web', a: '1', b: '1' })
  })

  it('ignores changes to fields only the store writes', () => {
    const store = storeWithPods()
    const o = ok(store.apply(3, patch({ metadata: { creationTimestamp: LATER, generation: 42, labels: { x: 'y' } } })))
    assert.equal(o.metadata.creationTimestamp, NOW)
    assert.equal(o.metadata.generation, 1)
  })

  const immutable: Array<[unknown, string, string]> = [
    [{ metadata: { name: 'web-2' } }, 'metadata.name', 'pods "web-1" is invalid: metadata.name: Invalid value: "web-2": field is immutable'],
    [{ metadata: { namespace: 'prod' } }, 'metadata.namespace', 'pods "web-1" is invalid: metadata.namespace: Invalid value: "prod": field is immutable'],
    [{ metadata: { uid: null } }, 'metadata.uid', 'pods "web-1" is invalid: metadata.uid: Invalid value: null: field is immutable'],
    [{ metadata: { uid: 'other' } }, 'metadata.uid', 'pods "web-1" is invalid: metadata.uid: Invalid value: "other": field is immutable'],
    [{ kind: 'Deployment' }, 'kind', 'pods "web-1" is invalid: kind: Invalid value: "Deployment": field is immutable'],
    [{ metadata: null }, 'metadata', 'pods "web-1" is invalid: metadata: Invalid value: null: field is immutable'],
    [['not', 'an', 'object'], 'metadata', 'pods "web-1" is invalid: metadata: Invalid value: ["not","an","object"]: field is immutable']
  ]
  for (const [p, field, message] of immutable) {
    it(`refuses ${JSON.stringify(p)} as Invalid (${field})`, () => {
      const store = storeWithPods()
      assert.deepEqual(store.apply(3, patch(p)), { ok: false, reason: 'Invalid', code: 422, message, field })
      assert.equal(store.get('pods', 'default', 'web-1')?.metadata.resourceVersion, '1')
    })
  }

  it('is refused with NotFound, and with Conflict on a stale precondition or a stale metadata.resourceVersion in the patch', () => {
    const store = storeWithPods()
    const missing = store.apply(3, { ...patch({}), name: 'nope' } as ObjectCommand)
    assert.deepEqual(missing, { ok: false, reason: 'NotFound', code: 404, message: 'pods "nope" not found' })
    assert.equal(store.apply(4, patch({ spec: { x: 1 } }, { resourceVersion: '2' })).ok, false)
    assert.equal(store.apply(5, patch({ metadata: { resourceVersion: '2' }, spec: { x: 1 } })).ok, false)
    assert.equal(store.apply(6, patch({ spec: { x: 1 } }, { uid: 'nope' })).ok, false)
    const fine = ok(store.apply(7, patch({ metadata: { resourceVersion: '1' }, spec: { x: 1 } })))
    assert.equal(fine.metadata.resourceVersion, '7')
  })
})

describe('ObjectStore: delete', () => {
  it('removes the object and returns its last state at the deleting index', () => {
    const store = storeWithPods()
    const last = ok(store.apply(5, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' }))
    assert.equal(last.metadata.resourceVersion, '5')
    assert.equal(last.metadata.uid, 'uid-web-1')
    assert.equal(store.get('pods', 'default', 'web-1'), undefined)
    assert.deepEqual(store.apply(6, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' }),
      { ok: false, reason: 'NotFound', code: 404, message: 'pods "web-1" not found' })
  })

  const preconditions: Array<[{ uid?: string, resourceVersion?: string }, string | undefined]> = [
    [{ uid: 'uid-web-1', resourceVersion: '1' }, undefined],
    [{ uid: 'other' }, 'Operation cannot be fulfilled on pods "web-1": Precondition failed: UID in precondition: other, UID in object meta: uid-web-1'],
    [{ resourceVersion: '7' }, 'Operation cannot be fulfilled on pods "web-1": Precondition failed: ResourceVersion in precondition: 7, ResourceVersion in object meta: 1']
  ]
  for (const [precondition, message] of preconditions) {
    it(`precondition ${JSON.stringify(precondition)} → ${message === undefined ? 'deleted' : 'Conflict'}`, () => {
      const store = storeWithPods()
      const r = store.apply(3, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1', precondition })
      if (message === undefined) assert.ok(r.ok)
      else assert.deepEqual(r, { ok: false, reason: 'Conflict', code: 409, message })
      assert.equal(store.get('pods', 'default', 'web-1') === undefined, message === undefined)
    })
  }
})

describe('ObjectStore: batch (all or nothing)', () => {
  const bind = (name: string, node: string): ObjectCommand => ({ op: 'patch', resource: 'pods', namespace: 'default', name, patch: { spec: { nodeName: node } }, now: NOW })

  it('applies every command at one resourceVersion, each against the effects of those before it', () => {
    const store = storeWithPods()
    const r = store.apply(3, { op: 'batch', commands: [bind('web-1', 'n1'), bind('web-2', 'n2'), createPod(pod('web-3')), bind('web-3', 'n1')] })
    assert.equal(r.ok, true)
    assert.deepEqual(r.results.map(x => x.ok && [x.object.metadata.name, x.object.metadata.resourceVersion]), [['web-1', '3'], ['web-2', '3'], ['web-3', '3'], ['web-3', '3']])
    const list = store.list('pods')
    assert.ok(list.ok)
    assert.deepEqual(list.items.map(p => (p.spec as { nodeName?: string }).nodeName), ['n1', 'n2', 'n1'])
  })

  it('applies nothing when one command fails; that one reports its reason, the rest report aborted', () => {
    const store = storeWithPods()
    const events = watchAll(store, { fromResourceVersion: 2 })
    const before = store.snapshot()
    const r = store.apply(3, { op: 'batch', commands: [bind('web-1', 'n1'), bind('gone', 'n1'), bind('web-2', 'n2')] })
    assert.equal(r.ok, false)
    assert.deepEqual(r.results.map(x => x.ok ? 'ok' : `${x.reason}${x.aborted === true ? ' (aborted)' : ''}`), ['Conflict (aborted)', 'NotFound', 'Conflict (aborted)'])
    assert.equal(r.results[0]?.ok === false && r.results[0].message, 'not applied: command 2 of 3 failed: pods "gone" not found')
    assert.equal(store.snapshot(), before.replace('"resourceVersion":2,', '"resourceVersion":3,'))
    assert.deepEqual(events, [])
  })

  it('refuses a nested batch and accepts an empty one', () => {
    const store = storeWithPods()
    const nested = store.apply(3, { op: 'batch', commands: [{ op: 'batch', commands: [] } as unknown as ObjectCommand] })
    assert.equal(nested.ok, false)
    assert.equal(nested.results[0]?.ok === false && nested.results[0].reason, 'Invalid')
    assert.deepEqual(store.apply(4, { op: 'batch', commands: [] }), { ok: true, results: [] })
  })
})

describe('ObjectStore: malformed commands and index order', () => {
  const malformed: Array<[unknown, string]> = [
    [{ op: 'create', resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: {} }, uid: 'u', now: NOW }, 'object.metadata.name'],
    [{ op: 'create', resource: 'pods', object: { kind: 'Pod', metadata: { name: 'x' } }, uid: 'u', now: NOW }, 'object'],
    [{ op: 'create', resource: 'pods', object: pod('x'), now: NOW }, 'uid'],
    [{ op: 'create', resource: 'pods', object: pod('x'), uid: 'u', now: 'yesterday' }, 'now'],
    [{ op: 'create', resource: '', object: pod('x'), uid: 'u', now: NOW }, 'resource'],
    [{ op: 'update', resource: 'pods', object: pod('web-1'), now: NOW, precondition: { resourceVersion: 1 } }, 'precondition'],
    [{ op: 'delete', resource: 'pods', name: 'web-1' }, 'namespace'],
    [{ op: 'explode', resource: 'pods' }, 'op'],
    [null, 'op']
  ]
  for (const [command, field] of malformed) {
    it(`${JSON.stringify(command)} → Invalid (${field}); the index still counts`, () => {
      const store = storeWithPods()
      const before = store.snapshot()
      const r = store.apply(3, command as Command) as Result
      assert.ok(!r.ok && r.reason === 'Invalid' && r.code === 422, JSON.stringify(r))
      if (command !== null) assert.equal(r.field, field)
      assert.equal(store.resourceVersion, '3')
      assert.equal(store.snapshot(), before.replace('"resourceVersion":2,', '"resourceVersion":3,'))
    })
  }

  it('throws on a non-increasing index: applying out of order is a broken invariant', () => {
    const store = storeWithPods()
    assert.throws(() => store.apply(2, createPod(pod('x'))), /increasing index order: got 2 after 2/)
    assert.throws(() => store.skip(1), /got 1 after 2/)
    assert.throws(() => store.apply(2.5, createPod(pod('x'))), /increasing index/)
    store.skip(10)
    assert.equal(store.resourceVersion, '10')
    assert.equal(ok(store.apply(11, createPod(pod('x')))).metadata.resourceVersion, '11')
  })

  it('refuses a negative historyLimit', () => {
    assert.throws(() => new ObjectStore({ historyLimit: -1 }), InvalidConfigError)
  })
})

describe('ObjectStore: reads', () => {
  function populated (): ObjectStore {
    const store = new ObjectStore()
    const inputs = [
      pod('b', { labels: { app: 'web', tier: 'fe' }, nodeName: 'n1' }),
      pod('a', { labels: { app: 'web', tier: 'be' } }),
      pod('c', { namespace: 'prod', labels: { app: 'db' }, nodeName: 'n1' }),
      pod('a', { namespace: 'abc', labels: {} })
    ]
    inputs.forEach((p, i) => ok(store.apply(i + 1, createPod(p))))
    return store
  }
  const names = (store: ObjectStore, options: Parameters<ObjectStore['list']>[1]): string[] | string => {
    const r = store.list('pods', options)
    return r.ok ? r.items.map(o => `${o.metadata.namespace ?? ''}/${o.metadata.name}`) : `${r.code} ${r.message}`
  }

  const cases: Array<[Parameters<ObjectStore['list']>[1], string[] | string]> = [
    [{}, ['abc/a', 'default/a', 'default/b', 'prod/c']],
    [{ namespace: 'default' }, ['default/a', 'default/b']],
    [{ namespace: '' }, []],
    [{ labelSelector: 'app=web' }, ['default/a', 'default/b']],
    [{ labelSelector: 'tier notin (fe)' }, ['abc/a', 'default/a', 'prod/c']],
    [{ labelSelector: '!app' }, ['abc/a']],
    [{ fieldSelector: 'spec.nodeName=n1' }, ['default/b', 'prod/c']],
    [{ fieldSelector: 'spec.nodeName=' }, ['abc/a', 'default/a']],
    [{ fieldSelector: 'metadata.name=a,metadata.namespace=default' }, ['default/a']],
    [{ namespace: 'default', labelSelector: 'app=web', fieldSelector: 'spec.nodeName!=n1' }, ['default/a']],
    [{ labelSelector: [{ key: 'app', operator: 'in', values: ['db'] }] }, ['prod/c']],
    [{ labelSelector: 'app in (web' }, '400 invalid label selector "app in (web": found the end, expected \',\' or \')\''],
    [{ fieldSelector: 'spec.nodeName' }, '400 invalid field selector "spec.nodeName": "spec.nodeName" must be path=value, path==value or path!=value']
  ]
  for (const [options, expected] of cases) {
    it(`list ${JSON.stringify(options)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(names(populated(), options), expected))
  }

  it('reports the store resourceVersion with the list, and nothing for an unknown resource', () => {
    const store = populated()
    store.skip(9)
    assert.deepEqual(store.list('widgets'), { ok: true, items: [], resourceVersion: '9' })
    const r = store.list('pods')
    assert.equal(r.ok && r.resourceVersion, '9')
  })

  it('hands out frozen objects: a caller cannot change the store through them', () => {
    const store = populated()
    const p = store.get('pods', 'default', 'a') as KubeObject
    assert.throws(() => { (p.metadata.labels as Record<string, string>).app = 'x' }, TypeError)
    assert.throws(() => { (p.spec as { containers: unknown[] }).containers.push({}) }, TypeError)
    const listed = store.list('pods')
    assert.ok(listed.ok)
    assert.throws(() => { (listed.items[0]!.metadata as { name: string }).name = 'z' }, TypeError)
    assert.equal(store.get('pods', 'default', 'a')?.metadata.labels?.app, 'web')
  })
})

describe('ObjectStore: watch', () => {
  it('replays the events after fromResourceVersion, then reports new ones', () => {
    const store = storeWithPods()
    ok(store.apply(3, { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-1', patch: { status: { phase: 'Running' } }, now: NOW }))
    const events = watchAll(store, { fromResourceVersion: '1' })
    assert.deepEqual(summary(events), ['ADDED web-2@2', 'MODIFIED web-1@3'])
    ok(store.apply(4, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-2' }))
    store.skip(5)
    ok(store.apply(6, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' }))
    assert.deepEqual(summary(events), ['ADDED web-2@2', 'MODIFIED web-1@3', 'DELETED web-2@4', 'DELETED web-1@6'])
    assert.deepEqual(events[3]?.object.status, { phase: 'Running' }, 'DELETED carries the last state')
  })

  it('from 0 or undefined replays nothing (the caller lists first)', () => {
    for (const fromResourceVersion of [0, '0', undefined, '']) {
      const store = storeWithPods()
      const events = watchAll(store, fromResourceVersion === undefined ? {} : { fromResourceVersion })
      assert.deepEqual(events, [])
      ok(store.apply(3, createPod(pod('web-3'))))
      assert.deepEqual(summary(events), ['ADDED web-3@3'], `from ${JSON.stringify(fromResourceVersion)}`)
    }
  })

  it('sees only its resource and namespace, and stops when told', () => {
    const store = new ObjectStore()
    const events = watchAll(store, { namespace: 'prod' })
    const other: WatchEvent[] = []
    const w = store.watch({ resource: 'deployments' }, e => other.push(e))
    ok(store.apply(1, createPod(pod('a'))))
    ok(store.apply(2, createPod(pod('b', { namespace: 'prod' }))))
    ok(store.apply(3, { op: 'create', resource: 'deployments', object: { ...pod('d'), kind: 'Deployment' }, uid: 'd', now: NOW }))
    assert.deepEqual(summary(events), ['ADDED b@2'])
    assert.deepEqual(summary(other), ['ADDED d@3'])
    assert.ok(w.ok)
    w.stop()
    ok(store.apply(4, { op: 'delete', resource: 'deployments', namespace: 'default', name: 'd' }))
    assert.equal(other.length, 1)
  })

  it('with a label selector: an object entering it is ADDED, one leaving it is DELETED (Kubernetes semantics)', () => {
    const store = storeWithPods()
    const events = watchAll(store, { labelSelector: 'tier=fe', fromResourceVersion: 2 })
    const label = (index: number, name: string, tier: string | null): void => {
      ok(store.apply(index, { op: 'patch', resource: 'pods', namespace: 'default', name, patch: { metadata: { labels: { tier } } }, now: NOW }))
    }
    label(3, 'web-1', 'fe') // enters
    label(4, 'web-1', 'fe2') // leaves
    label(5, 'web-2', 'be') // never in it
    label(6, 'web-2', 'fe') // enters
    ok(store.apply(7, { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-2', patch: { status: { ready: true } }, now: NOW })) // stays
    ok(store.apply(8, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' })) // not in it: nothing
    ok(store.apply(9, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-2' }))
    assert.deepEqual(summary(events), ['ADDED web-1@3', 'DELETED web-1@4', 'ADDED web-2@6', 'MODIFIED web-2@7', 'DELETED web-2@9'])
    assert.deepEqual(events[1]?.object.metadata.labels, { app: 'web', tier: 'fe' }, 'DELETED on leaving carries the last matching state')
  })

  it('with a field selector: a kubelet watching spec.nodeName=n1 sees a pod arrive when it is bound', () => {
    const store = storeWithPods()
    const kubelet = watchAll(store, { fieldSelector: 'spec.nodeName=n1', fromResourceVersion: 2 })
    const scheduler = watchAll(store, { fieldSelector: 'spec.nodeName=', fromResourceVersion: 1 })
    ok(store.apply(3, { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-2', patch: { spec: { nodeName: 'n1' } }, now: NOW }))
    assert.deepEqual(summary(kubelet), ['ADDED web-2@3'])
    assert.deepEqual(summary(scheduler), ['ADDED web-2@2', 'DELETED web-2@3'])
  })

  it('answers Gone (410) for a resourceVersion older than the history, and serves one at its edge', () => {
    const store = new ObjectStore({ historyLimit: 3 })
    for (let i = 1; i <= 5; i++) ok(store.apply(i, createPod(pod(`p${i}`))))
    // Events 1 and 2 were dropped: from 2 is still complete (3, 4, 5 are kept), from 1 is not.
    assert.deepEqual(store.watch({ resource: 'pods', fromResourceVersion: 1 }, () => {}),
      { ok: false, reason: 'Gone', code: 410, message: 'too old resource version: 1 (2)' })
    assert.deepEqual(summary(watchAll(store, { fromResourceVersion: 2 })), ['ADDED p3@3', 'ADDED p4@4', 'ADDED p5@5'])
  })

  it('knows a batch is incomplete when only part of its events were dropped', () => {
    const store = new ObjectStore({ historyLimit: 2 })
    ok(store.apply(1, createPod(pod('a'))))
    store.apply(2, { op: 'batch', commands: [createPod(pod('b')), createPod(pod('c'))] })
    ok(store.apply(3, createPod(pod('d'))))
    assert.equal(store.watch({ resource: 'pods', fromResourceVersion: 1 }, () => {}).ok, false, 'b@2 is gone')
    assert.deepEqual(summary(watchAll(store, { fromResourceVersion: 2 })), ['ADDED d@3'])
  })

  it('keeps working through many history compactions', () => {
    const store = new ObjectStore({ historyLimit: 5 })
    const live = watchAll(store)
    ok(store.apply(1, createPod(pod('p'))))
    for (let i = 2; i <= 3000; i++) ok(store.apply(i, { op: 'patch', resource: 'pods', namespace: 'default', name: 'p', patch: { status: { n: i } }, now: NOW }))
    assert.equal(live.length, 3000)
    assert.equal(store.watch({ resource: 'pods', fromResourceVersion: 2994 }, () => {}).ok, false)
    assert.deepEqual(summary(watchAll(store, { fromResourceVersion: 2995 })), ['MODIFIED p@2996', 'MODIFIED p@2997', 'MODIFIED p@2998', 'MODIFIED p@2999', 'MODIFIED p@3000'])
  })

  it('waits for a resourceVersion this replica has not reached yet', () => {
    const store = storeWithPods()
    const events = watchAll(store, { fromResourceVersion: '4' })
    ok(store.apply(3, createPod(pod('web-3'))))
    ok(store.apply(4, createPod(pod('web-4'))))
    ok(store.apply(5, createPod(pod('web-5'))))
    assert.deepEqual(summary(events), ['ADDED web-5@5'])
  })

  it('refuses a malformed resourceVersion or selector with 400', () => {
    const store = storeWithPods()
    assert.deepEqual(store.watch({ resource: 'pods', fromResourceVersion: 'abc' }, () => {}), { ok: false, reason: 'BadRequest', code: 400, message: 'invalid resource version "abc"' })
    assert.equal(store.watch({ resource: 'pods', fromResourceVersion: -1 }, () => {}).ok, false)
    const bad = store.watch({ resource: 'pods', labelSelector: 'a b' }, () => {})
    assert.ok(!bad.ok && bad.code === 400 && bad.message.startsWith('invalid label selector "a b"'))
  })

  it('tells listeners after the whole entry is in place', () => {
    const store = storeWithPods()
    const seen: string[] = []
    store.watch({ resource: 'pods' }, e => {
      const list = store.list('pods')
      seen.push(`${e.type} ${e.object.metadata.name} sees ${list.ok ? list.items.length : -1} pods at ${store.resourceVersion}`)
    })
    store.apply(3, { op: 'batch', commands: [createPod(pod('web-3')), { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' }] })
    assert.deepEqual(seen, ['ADDED web-3 sees 2 pods at 3', 'DELETED web-1 sees 2 pods at 3'])
  })

  it('a throwing listener does not keep the others from hearing, and the error surfaces', () => {
    const store = storeWithPods()
    store.watch({ resource: 'pods' }, () => { throw new Error('listener bug') })
    const events = watchAll(store)
    assert.throws(() => store.apply(3, createPod(pod('web-3'))), /listener bug/)
    assert.deepEqual(summary(events), ['ADDED web-3@3'])
    assert.equal(store.resourceVersion, '3')
    assert.ok(store.get('pods', 'default', 'web-3'))
  })

  it('a listener may not apply entries (they come only from the Raft log)', () => {
    const store = storeWithPods()
    store.watch({ resource: 'pods' }, () => { store.skip(100) })
    assert.throws(() => store.apply(3, createPod(pod('web-3'))), /watch listener tried to apply/)
    assert.equal(store.resourceVersion, '3')
  })
})

describe('ObjectStore: snapshot and restore', () => {
  it('round-trips to the identical string and the same reads', () => {
    const store = storeWithPods()
    ok(store.apply(3, { op: 'create', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { capacity: { cpu: '2' } } }, uid: 'n', now: NOW }))
    store.skip(4)
    const data = store.snapshot()
    const restored = ObjectStore.restore(data)
    assert.equal(restored.snapshot(), data)
    assert.equal(restored.resourceVersion, '4')
    assert.deepEqual(restored.get('pods', 'default', 'web-2'), store.get('pods', 'default', 'web-2'))
    assert.ok(Object.isFrozen(restored.get('nodes', '', 'n1')?.status))
    ok(restored.apply(5, { op: 'delete', resource: 'pods', namespace: 'default', name: 'web-1' }))
  })

  it('starts the watch history afresh: older watches get Gone, later ones work', () => {
    const store = storeWithPods()
    const restored = ObjectStore.restore(store.snapshot())
    assert.equal(restored.watch({ resource: 'pods', fromResourceVersion: 1 }, () => {}).ok, false)
    const events = watchAll(restored, { fromResourceVersion: 2 })
    ok(restored.apply(3, createPod(pod('web-3'))))
    assert.deepEqual(summary(events), ['ADDED web-3@3'])
  })

  it('is canonical: the same objects written in a different order give the same string', () => {
    const [x, y] = [new ObjectStore(), new ObjectStore()]
    const [a, b] = [createPod(pod('a')), createPod(pod('b', { namespace: 'abc' }))]
    const node: ObjectCommand = { op: 'create', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } }, uid: 'n', now: NOW }
    x.apply(1, { op: 'batch', commands: [a, b, node] })
    y.apply(1, { op: 'batch', commands: [node, b, a] })
    assert.equal(x.snapshot(), y.snapshot())
  })

  const corrupt: Array<[string, RegExp]> = [
    ['{', /not JSON/],
    ['{"format":2,"resourceVersion":1,"resources":[]}', /unknown format/],
    ['{"format":1,"resourceVersion":-1,"resources":[]}', /resourceVersion/],
    ['{"format":1,"resourceVersion":1,"resources":[{"resource":"pods","items":[{"metadata":{}}]}]}', /bad object in pods/],
    ['{"format":1,"resourceVersion":1,"resources":[{"resource":"pods","items":[{"metadata":{"name":"a","resourceVersion":"2"}}]}]}', /newer than the snapshot/]
  ]
  for (const [data, error] of corrupt) {
    it(`refuses a corrupt snapshot: ${data.slice(0, 60)}`, () => assert.throws(() => ObjectStore.restore(data), error))
  }
})


/** A random command over few names, so creates collide, updates miss and preconditions go stale. */
function randomCommand (rand: () => number, step: number, depth = 0): Command {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const resource = pick(['pods', 'pods', 'deployments', 'nodes'])
  const namespace = resource === 'nodes' ? '' : pick(['default', 'prod'])
  const name = pick(['a', 'b', 'c', 'd'])
  const now = `2026-01-01T00:${String(Math.floor(step / 60) % 60).padStart(2, '0')}:${String(step % 60).padStart(2, '0')}Z`
  const labels = { app: pick(['web', 'db']), ...(rand() < 0.5 ? { tier: pick(['fe', 'be']) } : {}) }
  const object = (): ObjectInput => ({
    apiVersion: 'v1', kind: 'Thing', metadata: { name, ...(namespace !== '' ? { namespace } : {}), labels },
    ...(rand() < 0.8 ? { spec: { replicas: Math.floor(rand() * 3), image: pick(['x:1', 'x:2']) } } : {}),
    ...(rand() < 0.5 ? { status: { ready: Math.floor(rand() * 3) } } : {})
  })
  const precondition = rand() < 0.3 ? { precondition: { resourceVersion: String(Math.floor(rand() * step) + 1) } } : {}
  const r = rand()
  if (r < 0.3) return { op: 'create', resource, object: object(), uid: `u-${step}-${Math.floor(rand() * 1e9)}`, now }
  if (r < 0.5) return { op: 'update', resource, object: object(), now, ...precondition }
  if (r < 0.75) {
    const patch = pick<unknown>([{ spec: { replicas: Math.floor(rand() * 3) } }, { status: { ready: null } }, { metadata: { labels: { tier: pick(['fe', null]) } } }, { metadata: { name: 'z' } }])
    return { op: 'patch', resource, namespace, name, patch, now, ...precondition }
  }
  if (r < 0.9 || depth > 0) return { op: 'delete', resource, namespace, name, ...precondition }
  return { op: 'batch', commands: Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => randomCommand(rand, step * 10 + i, 1) as ObjectCommand) }
}

describe('ObjectStore: determinism', () => {
  for (const seed of [1, 42, 20260101]) {
    it(`seed ${seed}: two replicas, and one restored midway, end in identical snapshots`, () => {
      const rand = seededRandom(seed)
      const a = new ObjectStore({ historyLimit: 50 })
      const b = new ObjectStore()
      let c: ObjectStore | undefined
      const events: string[] = []
      a.watch({ resource: 'pods', labelSelector: 'tier=fe' }, e => events.push(`${e.type} ${e.object.metadata.name}`))
      let successes = 0
      for (let index = 1; index <= 600; index++) {
        if (rand() < 0.05) {
          a.skip(index); b.skip(index); c?.skip(index)
          continue
        }
        const command = randomCommand(rand, index)
        const ra = a.apply(index, structuredClone(command))
        const rb = b.apply(index, structuredClone(command))
        c?.apply(index, structuredClone(command))
        assert.deepEqual(ra, rb, `index ${index}`)
        if (ra.ok) successes++
        if (index === 300) {
          const data = a.snapshot()
          c = ObjectStore.restore(data)
          assert.equal(c.snapshot(), data)
        }
      }
      assert.ok(successes > 100 && successes < 590, `a mix of successes and refusals (${successes})`)
      assert.ok(events.length > 10, 'the watcher saw events')
      assert.equal(a.snapshot(), b.snapshot())
      assert.equal(c?.snapshot(), a.snapshot())
      assert.equal(ObjectStore.restore(a.snapshot()).snapshot(), a.snapshot())
    })
  }
})

describe('ObjectStore: write scopes (the status subresource)', () => {
  const running = { phase: 'Running' }

  it('a main-scoped update keeps the stored status, whatever the input says', () => {
    const store = new ObjectStore()
    ok(store.apply(1, createPod(pod('web-1', { status: running }))))
    const input = pod('web-1', { status: { phase: 'Failed' }, labels: { app: 'api' } })
    const updated = ok(store.apply(2, { op: 'update', resource: 'pods', object: input, now: LATER, scope: 'main' }))
    assert.deepEqual(updated.status, running)
    assert.deepEqual(updated.metadata.labels, { app: 'api' })
  })

  it('a status-scoped update changes only the status, and does not move generation', () => {
    const store = new ObjectStore()
    const created = ok(store.apply(1, createPod(pod('web-1'))))
    const input = pod('web-1', { status: running, labels: { app: 'api' }, nodeName: 'n9' })
    const updated = ok(store.apply(2, { op: 'update', resource: 'pods', object: input, now: LATER, scope: 'status' }))
    assert.deepEqual(updated.status, running)
    assert.deepEqual(updated.metadata.labels, { app: 'web' })
    assert.deepEqual(updated.spec, created.spec)
    assert.equal(updated.metadata.generation, 1)
    assert.equal(updated.metadata.resourceVersion, '2')
  })

  it('scoped merge patches: status patches touch only status, main patches never touch it', () => {
    const store = new ObjectStore()
    ok(store.apply(1, createPod(pod('web-1', { status: running }))))
    const s = ok(store.apply(2, { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-1', patch: { metadata: { labels: { x: 'y' } }, status: { phase: 'Succeeded' } }, now: LATER, scope: 'status' }))
    assert.deepEqual(s.status, { phase: 'Succeeded' })
    assert.deepEqual(s.metadata.labels, { app: 'web' })
    const m = ok(store.apply(3, { op: 'patch', resource: 'pods', namespace: 'default', name: 'web-1', patch: { metadata: { labels: { x: 'y' } }, status: null }, now: LATER, scope: 'main' }))
    assert.deepEqual(m.status, { phase: 'Succeeded' })
    assert.deepEqual(m.metadata.labels, { app: 'web', x: 'y' })
  })

  it('refuses an unknown scope without writing', () => {
    const store = new ObjectStore()
    ok(store.apply(1, createPod(pod('web-1'))))
    const r = store.apply(2, { op: 'update', resource: 'pods', object: pod('web-1'), now: LATER, scope: 'spec' as never })
    assert.equal(r.ok, false)
    assert.equal(store.get('pods', 'default', 'web-1')?.metadata.resourceVersion, '1')
  })
})
