import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LAST_APPLIED, lastAppliedOf, withLastApplied } from './apply.ts'

describe('the last-applied annotation', () => {
  const manifest = { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x' }, data: { b: '2', a: '1' } }

  it('holds the manifest in its namespace as compact JSON with sorted keys and a newline, as kubectl writes it', () => {
    const sent = withLastApplied(manifest, 'prod') as any
    assert.equal(sent.metadata.namespace, 'prod')
    assert.equal(sent.metadata.annotations[LAST_APPLIED], '{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"x","namespace":"prod"}}\n')
    assert.deepEqual(sent.data, manifest.data)
  })

  it('never nests an older annotation, and keeps the manifest\'s own annotations', () => {
    const again = withLastApplied({ ...manifest, metadata: { name: 'x', annotations: { note: 'hi', [LAST_APPLIED]: 'old' } } }, undefined) as any
    assert.deepEqual(JSON.parse(again.metadata.annotations[LAST_APPLIED]).metadata.annotations, { note: 'hi' })
    assert.equal(again.metadata.annotations.note, 'hi')
  })

  it('is read back from a live object; a missing or broken one is undefined', () => {
    const sent = withLastApplied(manifest, 'prod')
    assert.deepEqual(lastAppliedOf(sent)?.data, { a: '1', b: '2' })
    assert.equal(lastAppliedOf({ metadata: {} }), undefined)
    assert.equal(lastAppliedOf({ metadata: { annotations: { [LAST_APPLIED]: '{broken' } } }), undefined)
  })
})
