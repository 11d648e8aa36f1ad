import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { collectGarbage } from './gc.ts'
import type { KubeObject, OwnerReference } from '../store/types.ts'

const ref = (kind: string, uid: string): OwnerReference => ({ apiVersion: 'v1', kind, name: uid, uid, controller: true })
const obj = (kind: string, uid: string, owners: OwnerReference[] = []): KubeObject => ({
  apiVersion: 'v1', kind, metadata: { name: uid, namespace: 'default', uid, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', ...(owners.length > 0 ? { ownerReferences: owners } : {}) }
})

describe('garbage collector', () => {
  const cases: Array<[string, KubeObject[], unknown[]]> = [
    ['an owned object whose owner exists stays', [obj('Deployment', 'd1'), obj('ReplicaSet', 'r1', [ref('Deployment', 'd1')])], []],
    ['an object without owners stays', [obj('Pod', 'p1')], []],
    ['an object whose only owner is gone is deleted', [obj('ReplicaSet', 'r1', [ref('Deployment', 'gone')])],
      [{ op: 'delete', resource: 'replicasets', namespace: 'default', name: 'r1', precondition: { uid: 'r1' } }]],
    ['same name, other uid: the owner is gone', [obj('Deployment', 'd2'), obj('ReplicaSet', 'r1', [{ ...ref('Deployment', 'd1'), name: 'd2' }])],
      [{ op: 'delete', resource: 'replicasets', namespace: 'default', name: 'r1', precondition: { uid: 'r1' } }]],
    ['an owner of a kind not handed in is assumed alive', [obj('Pod', 'p1', [ref('StatefulSet', 's1')])], []],
    ['some owners gone: the dangling references are removed', [obj('Deployment', 'd1'), obj('Pod', 'p1', [ref('Deployment', 'd1'), ref('ReplicaSet', 'gone')])],
      [{ op: 'patch', resource: 'pods', namespace: 'default', name: 'p1', patch: { metadata: { ownerReferences: [ref('Deployment', 'd1')] } }, now: 'T', precondition: { uid: 'p1', resourceVersion: '7' } }]]
  ]
  for (const [name, objects, expected] of cases) {
    it(name, () => {
      const resources = [['Deployment', 'deployments'], ['ReplicaSet', 'replicasets'], ['Pod', 'pods']].map(([kind, resource]) => ({ kind: kind!, resource: resource!, items: objects.filter(o => o.kind === kind) }))
      assert.deepEqual(collectGarbage({ resources, now: 'T' }), expected)
    })
  }
})
