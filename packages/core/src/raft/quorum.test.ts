import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { committedIndex, hasQuorum, voteResult } from './quorum.ts'

describe('committedIndex', () => {
  const cases: Array<[number[], number]> = [
    [[], 0], [[5], 5], [[5, 3], 3], [[5, 3, 1], 3], [[1, 5, 3], 3], [[7, 7, 2, 2], 2], [[9, 8, 7, 6, 5], 7], [[0, 0, 9], 0]
  ]
  for (const [matches, want] of cases) it(`${JSON.stringify(matches)} → ${want}`, () => assert.equal(committedIndex(matches), want))
})

describe('voteResult', () => {
  const v = ['a', 'b', 'c']
  const cases: Array<[string[], Array<[string, boolean]>, string]> = [
    [v, [], 'pending'],
    [v, [['a', true]], 'pending'],
    [v, [['a', true], ['b', true]], 'won'],
    [v, [['a', true], ['b', false]], 'pending'],
    [v, [['b', false], ['c', false]], 'lost'],
    [v, [['a', true], ['x', true]], 'pending'],
    [['a'], [['a', true]], 'won'],
    [['a', 'b'], [['a', true]], 'pending'],
    [['a', 'b'], [['a', true], ['b', false]], 'lost'],
    [['a', 'b', 'c', 'd', 'e'], [['a', true], ['b', true], ['c', true]], 'won']
  ]
  for (const [voters, votes, want] of cases) {
    it(`${voters.length} voters, ${JSON.stringify(votes)} → ${want}`, () => assert.equal(voteResult(voters, new Map(votes)), want))
  }
})

describe('hasQuorum', () => {
  it('needs a strict majority of voters, ignoring non-voters', () => {
    assert.equal(hasQuorum(['a', 'b', 'c'], new Set(['a', 'b'])), true)
    assert.equal(hasQuorum(['a', 'b', 'c'], new Set(['a', 'x', 'y'])), false)
    assert.equal(hasQuorum(['a', 'b', 'c', 'd'], new Set(['a', 'b'])), false)
  })
})
