import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry } from '@shoal/core/raft/index.ts'
import { StoreStateMachine } from './state-machine.ts'
import { createSilentLogger } from '../log.ts'

const create = (index: number, name: string): Entry => ({
  term: 1,
  index,
  type: 'normal',
  data: JSON.stringify({ op: 'create', resource: 'configmaps', uid: `u-${name}`, now: '2026-01-01T00:00:00Z', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } } })
})

describe('StoreStateMachine', () => {
  it('applies commands, skips raft entries, and keeps each result for its writer once', () => {
    const sm = new StoreStateMachine(createSilentLogger())
    sm.apply([{ term: 1, index: 1, type: 'conf', change: { type: 'addVoter', node: 'a' } }, { term: 1, index: 2, type: 'normal', data: '' }, create(3, 'x'), create(4, 'x')], null)
    assert.equal(sm.store.get('configmaps', 'default', 'x')?.metadata.resourceVersion, '3')
    assert.equal(sm.takeResult(3)?.ok, true)
    assert.deepEqual(sm.takeResult(4), { ok: false, reason: 'AlreadyExists', code: 409, message: 'configmaps "x" already exists' })
    assert.equal(sm.takeResult(4), undefined, 'taken once')
    assert.equal(sm.store.appliedIndex, 4)
  })

  it('a restarted replica rebuilt from the snapshot plus the log after it equals the original', () => {
    const a = new StoreStateMachine(createSilentLogger())
    a.apply([create(1, 'one'), create(2, 'two')], null)
    const snapshot = { index: 2, term: 1, conf: { voters: ['a'], learners: [] }, data: a.snapshot() }
    a.apply([create(3, 'three')], null)
    const b = new StoreStateMachine(createSilentLogger())
    b.apply([], snapshot)
    b.apply([create(3, 'three')], null)
    assert.equal(b.snapshot(), a.snapshot())
  })

  it('an entry that is not a command is skipped, not fatal', () => {
    const sm = new StoreStateMachine(createSilentLogger())
    sm.apply([{ term: 1, index: 1, type: 'normal', data: '{not json' }, create(2, 'ok')], null)
    assert.equal(sm.store.appliedIndex, 2)
    assert.ok(sm.store.get('configmaps', 'default', 'ok') !== undefined)
  })
})
