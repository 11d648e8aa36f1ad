import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseRaftMessage } from './wire.ts'

describe('parseRaftMessage', () => {
  const append = { type: 'append', from: 'a', to: 'b', term: 2, prevIndex: 4, prevTerm: 1, commit: 3, entries: [{ term: 2, index: 5, type: 'normal', data: 'x' }, { term: 2, index: 6, type: 'conf', change: { type: 'addLearner', node: 'd' } }] }
  const cases: Array<[unknown, string | undefined]> = [
    [append, undefined],
    [{ type: 'vote', from: 'a', to: 'b', term: 2, lastIndex: 3, lastTerm: 1, pre: true, transfer: false }, undefined],
    [{ type: 'heartbeatResp', from: 'a', to: 'b', term: 2, ctx: '' }, undefined],
    [{ type: 'snapshot', from: 'a', to: 'b', term: 2, snapshot: { index: 9, term: 2, conf: { voters: ['a'], learners: [] }, data: '{}' } }, undefined],
    ['nope', 'message: must be an object'],
    [{ ...append, term: -1 }, 'term: must be a non-negative integer'],
    [{ ...append, from: 7 }, 'from: must be a string'],
    [{ ...append, entries: [{ term: 2, index: 7, type: 'normal', data: 'x' }] }, 'entries[0].index: must be 5'],
    [{ ...append, entries: [{ term: 2, index: 5, type: 'weird' }] }, 'entries[0].type: unknown entry type "weird"'],
    [{ ...append, entries: [{ term: 2, index: 5, type: 'conf', change: { type: 'promote', node: 'x' } }] }, 'entries[0].change.type: unknown change "promote"'],
    [{ type: 'gossip', from: 'a', to: 'b', term: 1 }, 'type: unknown message type "gossip"']
  ]
  for (const [input, error] of cases) {
    it(`${JSON.stringify(input).slice(0, 60)} → ${error ?? 'ok'}`, () => {
      const r = parseRaftMessage(input)
      assert.equal(r.ok ? undefined : r.error, error)
      if (r.ok) assert.deepEqual(r.value, input)
    })
  }
})
