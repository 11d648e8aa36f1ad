import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { withProposerFields } from './proposer.ts'

describe('the proposer\'s choices', () => {
  let n = 0
  const choose = { now: '2026-01-01T00:00:00Z', uid: () => `uid-${++n}` }
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } }

  it('a create without a uid or time gets both; one with them keeps its own', () => {
    assert.deepEqual(withProposerFields({ op: 'create', resource: 'configmaps', object, uid: '', now: '' }, choose), { op: 'create', resource: 'configmaps', object, uid: 'uid-1', now: '2026-01-01T00:00:00Z' })
    const own = { op: 'create', resource: 'configmaps', object, uid: 'mine', now: '2025-05-05T00:00:00Z' }
    assert.equal(withProposerFields(own, choose), own)
  })

  it('an update or patch without a time gets one; a delete is left as it is', () => {
    assert.equal(withProposerFields({ op: 'patch', resource: 'configmaps', namespace: 'default', name: 'a', patch: {}, now: '' }, choose).now, choose.now)
    assert.equal((withProposerFields({ op: 'update', resource: 'configmaps', object } as never, choose) as { now: string }).now, choose.now)
    const del = { op: 'delete', resource: 'configmaps', namespace: 'default', name: 'a' }
    assert.equal(withProposerFields(del, choose), del)
  })

  it('each create of a batch gets its own uid', () => {
    const b = withProposerFields({ op: 'batch', commands: [{ op: 'create', resource: 'configmaps', object, uid: '', now: '' }, { op: 'create', resource: 'configmaps', object, uid: '', now: '' }] }, choose)
    const uids = b.commands.map(c => (c as { uid: string }).uid)
    assert.equal(new Set(uids).size, 2)
  })

  it('what is not a command is returned as it is, for the store to refuse', () => {
    assert.equal(withProposerFields(null, choose), null)
    assert.equal(withProposerFields('create', choose), 'create')
    const odd = { op: 'rename' }
    assert.equal(withProposerFields(odd, choose), odd)
  })
})
