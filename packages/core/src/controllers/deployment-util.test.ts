import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { computeHash, equalIgnoreHash, newReplicaSetAnnotations, resolveFenceposts, scaledValue, setCondition, newCondition } from './deployment-util.ts'
import type { KubeObject } from '../store/types.ts'

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } }

function deployment (replicas: number, rollingUpdate: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'd', resourceVersion: '1', creationTimestamp: '', annotations }, spec: { replicas, strategy: { type: 'RollingUpdate', rollingUpdate }, template } }
}

describe('deployment utilities', () => {
  it('the pod-template hash is stable, key-order blind, safe-encoded, and moves with collisionCount', () => {
    const h = computeHash(template)
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/)
    assert.equal(computeHash({ spec: { containers: [{ image: 'web:1', name: 'app' }] }, metadata: { labels: { app: 'web' } } }), h)
    assert.notEqual(computeHash({ ...template, spec: { containers: [{ name: 'app', image: 'web:2' }] } }), h)
    assert.notEqual(computeHash(template, 0), h)
    assert.notEqual(computeHash(template, 1), computeHash(template, 0))
    assert.equal(computeHash(template, 1), computeHash(template, 1))
  })

  it('templates compare without the pod-template-hash label', () => {
    assert.ok(equalIgnoreHash({ ...template, metadata: { labels: { app: 'web', 'pod-template-hash': 'x' } } }, template))
    assert.ok(!equalIgnoreHash({ ...template, metadata: { labels: { app: 'db' } } }, template))
  })

  const values: Array<[number | string | undefined, number, boolean, number]> = [
    [undefined, 3, true, 1], [undefined, 3, false, 0], ['25%', 10, true, 3], ['25%', 10, false, 2], [2, 10, true, 2], ['100%', 4, true, 4], ['0%', 4, false, 0]
  ]
  for (const [v, total, up, expected] of values) {
    it(`scaledValue(${String(v)}, ${total}, ${up ? 'up' : 'down'}) = ${expected}`, () => assert.equal(scaledValue(v, total, up, '25%'), expected))
  }

  it('fenceposts: both 0 makes unavailability 1', () => {
    assert.deepEqual(resolveFenceposts(deployment(3, { maxSurge: 0, maxUnavailable: '10%' })), { surge: 0, unavailable: 1 })
    assert.deepEqual(resolveFenceposts(deployment(3, {})), { surge: 1, unavailable: 0 })
  })

  it('new ReplicaSet annotations: copied from the Deployment, revision raised with its history kept', () => {
    const d = deployment(3, {}, { team: 'a', 'deployment.kubernetes.io/revision': '9', 'kubectl.kubernetes.io/last-applied-configuration': '{}' })
    assert.deepEqual(newReplicaSetAnnotations(d, {}, 1, false), { team: 'a', 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' })
    assert.deepEqual(newReplicaSetAnnotations(d, { 'deployment.kubernetes.io/revision': '1' }, 3, true), { team: 'a', 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' })
    assert.deepEqual(newReplicaSetAnnotations(d, { 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' }, 5, true)['deployment.kubernetes.io/revision-history'], '1,3')
    assert.deepEqual(newReplicaSetAnnotations(d, { 'deployment.kubernetes.io/revision': '5' }, 5, true), { team: 'a', 'deployment.kubernetes.io/revision': '5' })
  })

  it('conditions keep their transition time while the status holds, and move to the end when they change', () => {
    const a = newCondition('Available', 'True', 'X', 'm', 'T0')
    const p = newCondition('Progressing', 'True', 'A', 'm', 'T0')
    assert.deepEqual(setCondition([a, p], newCondition('Available', 'True', 'X', 'other', 'T1')), [a, p])
    assert.deepEqual(setCondition([a, p], newCondition('Available', 'True', 'Y', 'm', 'T1')), [p, { ...a, reason: 'Y', lastUpdateTime: 'T1' }])
    assert.deepEqual(setCondition([a, p], newCondition('Available', 'False', 'Y', 'm', 'T1')), [p, newCondition('Available', 'False', 'Y', 'm', 'T1')])
  })
})
