import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { leastAllocatedScore, leastRequestedScore, spreadScore, totalScore } from './score.ts'
import { fitErrorMessage } from './message.ts'

describe('leastRequestedScore / leastAllocatedScore (Kubernetes\' LeastAllocated)', () => {
  const cases: Array<[number, number, number]> = [
    [0, 4000, 100], [1000, 4000, 75], [3999, 4000, 0], [4000, 4000, 0], [5000, 4000, 0], [1, 0, 0], [1, 3, 66]
  ]
  for (const [requested, allocatable, want] of cases) {
    it(`${requested} of ${allocatable} → ${want}`, () => assert.equal(leastRequestedScore(requested, allocatable), want))
  }
  it('averages cpu and memory, rounding down', () => {
    assert.equal(leastAllocatedScore({ cpuMilli: 1000, memoryBytes: 2 }, { cpuMilli: 4000, memoryBytes: 8 }), 75)
    assert.equal(leastAllocatedScore({ cpuMilli: 3000, memoryBytes: 0 }, { cpuMilli: 4000, memoryBytes: 8 }), 62)
  })
})

describe('spreadScore', () => {
  const cases: Array<[number, number, number]> = [[0, 0, 100], [0, 2, 100], [1, 2, 50], [2, 2, 0], [1, 3, 66]]
  for (const [count, max, want] of cases) it(`${count} of max ${max} → ${want}`, () => assert.equal(spreadScore(count, max), want))
  it('weighs spreading twice resources', () => assert.equal(totalScore(50, 100), 250))
})

describe('fitErrorMessage', () => {
  it('sorts "COUNT REASON" byte-wise, as Go\'s sort.Strings', () => {
    assert.equal(fitErrorMessage(3, { 'Insufficient memory': 2, "node(s) didn't match Pod's node affinity/selector": 1 }), "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient memory.")
    assert.equal(fitErrorMessage(12, { 'Insufficient cpu': 10, 'Too many pods': 2 }), '0/12 nodes are available: 10 Insufficient cpu, 2 Too many pods.')
    assert.equal(fitErrorMessage(2, { 'Insufficient memory': 2, 'Insufficient cpu': 2 }), '0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.')
  })
  it('no nodes at all', () => assert.equal(fitErrorMessage(0, {}), 'no nodes available to schedule pods'))
})
