import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { admitPod, podRequests } from './admit.ts'
import { pod } from './test-fixtures.ts'

const withRes = (uid: string, resources: unknown, status?: unknown): ReturnType<typeof pod> =>
  pod({ containers: [{ name: 'c', image: 'x', resources }] }, { uid }, status)

const capacity = { cpuMilli: 2000, memoryBytes: 4 * 2 ** 30, pods: 3 }

describe('podRequests', () => {
  it('sums requests, limits standing in for absent requests; an init container counts when larger', () => {
    const p = pod({
      containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '250m', memory: '64Mi' } } }, { name: 'b', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } }],
      initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '2' } } }]
    })
    assert.deepEqual(podRequests(p), { cpuMilli: 2000, memoryBytes: 64 * 2 ** 20 + 2 ** 30 })
  })
})

describe('admitPod', () => {
  const admitted = [withRes('a', { requests: { cpu: '1', memory: '3Gi' } }), withRes('done', { requests: { cpu: '2', memory: '4Gi' } }, { phase: 'Succeeded' })]
  const cases: Array<[string, unknown, string | undefined]> = [
    ['fits', { requests: { cpu: '1', memory: '1Gi' } }, undefined],
    ['no requests always fits the resources', {}, undefined],
    ['too much cpu', { requests: { cpu: '1500m' } }, "OutOfcpu: Pod Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000"],
    ['too much memory (by limit)', { limits: { memory: '2Gi' } }, `OutOfmemory: Pod Node didn't have enough resource: memory, requested: ${2 * 2 ** 30}, used: ${3 * 2 ** 30}, capacity: ${4 * 2 ** 30}`]
  ]
  for (const [name, resources, want] of cases) {
    it(name, () => {
      const r = admitPod(withRes('new', resources), capacity, admitted)
      assert.equal(r.admitted ? undefined : `${r.reason}: ${r.message}`, want)
      if (!r.admitted) assert.deepEqual(r.status, { phase: 'Failed', reason: r.reason, message: r.message })
    })
  }
  it('the pod itself is not counted twice; the pod limit is checked', () => {
    assert.equal(admitPod(admitted[0]!, capacity, admitted).admitted, true)
    const full = [withRes('a', {}), withRes('b', {}), withRes('c', {})]
    const r = admitPod(withRes('d', {}), capacity, full)
    assert.ok(!r.admitted && r.reason === 'OutOfpods')
  })
})
