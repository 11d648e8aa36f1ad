import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { desiredVoters, planVoterChange, type MemberHealth, type VoterPlanInput } from './voters.ts'

describe('desiredVoters', () => {
  const cases: Array<[number, number, number]> = [
    [1, 3, 1], [2, 3, 1], [3, 3, 3], [4, 3, 3], [10, 3, 3], [4, 5, 3], [5, 5, 5], [9, 5, 5], [0, 3, 1]
  ]
  for (const [healthy, target, want] of cases) it(`${healthy} healthy, target ${target} → ${want}`, () => assert.equal(desiredVoters(healthy, target), want))
})

describe('planVoterChange', () => {
  const alive = (name: string): MemberHealth => ({ name, state: 'alive', stateSinceMs: 0 })
  const base = (over: Partial<VoterPlanInput>): VoterPlanInput => ({
    self: 'a', conf: { voters: ['a'], learners: [] }, members: [alive('a')], match: new Map(), lastIndex: 100, target: 3, now: 10_000, graceMs: 2000, maxLag: 10, ...over
  })
  const caught = (...names: string[]): Map<string, number> => new Map(names.map(n => [n, 100]))

  const cases: Array<[string, Partial<VoterPlanInput>, ReturnType<typeof planVoterChange>]> = [
    ['a lone voter: nothing to do', {}, undefined],
    ['a new live member becomes a learner', { members: [alive('a'), alive('b')] }, { type: 'addLearner', node: 'b' }],
    ['two members: one voter is best, the learner stays', { conf: { voters: ['a'], learners: ['b'] }, members: [alive('a'), alive('b')], match: caught('b') }, undefined],
    ['three members: promote a caught-up learner', { conf: { voters: ['a'], learners: ['b', 'c'] }, members: [alive('a'), alive('b'), alive('c')], match: caught('b', 'c') }, { type: 'addVoter', node: 'b' }],
    ['a learner far behind is not promoted', { conf: { voters: ['a'], learners: ['b', 'c'] }, members: [alive('a'), alive('b'), alive('c')], match: new Map([['b', 50], ['c', 100]]) }, { type: 'addVoter', node: 'c' }],
    ['three voters is the target: the fourth member stays a learner', { conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members: ['a', 'b', 'c', 'd'].map(alive), match: caught('b', 'c', 'd') }, undefined],
    ['a voter dead past the grace period is replaced by a learner first', { conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members: [alive('a'), alive('b'), { name: 'c', state: 'dead', stateSinceMs: 7000 }, alive('d')], match: caught('b', 'd') }, { type: 'addVoter', node: 'd' }],
    ['…then removed', { conf: { voters: ['a', 'b', 'c', 'd'], learners: [] }, members: [alive('a'), alive('b'), { name: 'c', state: 'dead', stateSinceMs: 7000 }, alive('d')], match: caught('b', 'd') }, { type: 'remove', node: 'c' }],
    ['a voter dead within the grace period is left alone', { conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members: [alive('a'), alive('b'), { name: 'c', state: 'dead', stateSinceMs: 9000 }, alive('d')], match: caught('b', 'd') }, undefined],
    ['a voter stopped gracefully counts as down, not gone', { conf: { voters: ['a', 'b', 'c'], learners: [] }, members: [alive('a'), alive('b'), { name: 'c', state: 'left', leaveReason: 'shutdown', stateSinceMs: 9500 }] }, undefined],
    ['a voter that left for good is removed at once', { conf: { voters: ['a', 'b', 'c'], learners: [] }, members: [alive('a'), alive('b'), { name: 'c', state: 'left', leaveReason: 'leave', stateSinceMs: 9999 }] }, { type: 'remove', node: 'c' }],
    ['a learner that left is removed', { conf: { voters: ['a'], learners: ['b'] }, members: [alive('a'), { name: 'b', state: 'left', leaveReason: 'leave', stateSinceMs: 9999 }] }, { type: 'remove', node: 'b' }],
    ['a dead learner is removed after the grace period', { conf: { voters: ['a'], learners: ['b'] }, members: [alive('a'), { name: 'b', state: 'dead', stateSinceMs: 1000 }] }, { type: 'remove', node: 'b' }],
    ['with no learner to promote, a lost voter is removed only if enough remain', { conf: { voters: ['a', 'b', 'c'], learners: [] }, members: [alive('a'), alive('b'), { name: 'c', state: 'dead', stateSinceMs: 0 }] }, { type: 'remove', node: 'c' }],
    ['target 5 with five healthy members promotes up to five', { target: 5, conf: { voters: ['a', 'b', 'c'], learners: ['d', 'e'] }, members: ['a', 'b', 'c', 'd', 'e'].map(alive), match: caught('b', 'c', 'd', 'e') }, { type: 'addVoter', node: 'd' }],
    ['a member unknown to gossip (just restarted) is not treated as lost', { conf: { voters: ['a', 'b', 'c'], learners: [] }, members: [alive('a'), alive('b')] }, undefined],
    ['the leader never removes itself', { self: 'c', conf: { voters: ['a', 'b', 'c'], learners: [] }, members: [alive('a'), alive('b'), { name: 'c', state: 'dead', stateSinceMs: 0 }] }, undefined]
  ]
  for (const [what, over, want] of cases) it(what, () => assert.deepEqual(planVoterChange(base(over)), want))
})
