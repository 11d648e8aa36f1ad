import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject } from '../store/types.ts'
import { clusterImages, locateImage, type NodeImage } from './inventory.ts'
import { imageRecordName, imageRecordObject, imageRecordOf, imageRecords, isServed, pushedRecord, removedRecord } from './records.ts'

const id = (c: string): string => `sha256:${c.repeat(64)}`

function node (name: string, images: NodeImage[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
    status: { conditions: [{ type: 'Ready', status: 'True' }], images }
  } as unknown as KubeObject
}

const stored = (o: ReturnType<typeof imageRecordObject>): KubeObject => ({ ...o, metadata: { ...o.metadata, uid: 'u', resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' } }) as unknown as KubeObject

describe('images: records of push and rm', () => {
  it('names a record by its image name in hex (an object name cannot hold / or :), one per name', () => {
    assert.equal(imageRecordName('a/b:1'), 'image-612f623a31')
    assert.notEqual(imageRecordName('a/b:1'), imageRecordName('a-b:1'))
  })

  it('a push pins the ID and takes it off the withdrawn ones; an rm withdraws every ID and the pinned one, and pins nothing', () => {
    const pushed = pushedRecord(undefined, 'app:1', id('a'))
    assert.deepEqual(pushed, { image: 'app:1', id: id('a'), withdrawn: [] })
    const removed = removedRecord(pushed, 'app:1', [id('b')])
    assert.deepEqual(removed, { image: 'app:1', withdrawn: [id('a'), id('b')] })
    assert.deepEqual(pushedRecord(removed, 'app:1', id('b')), { image: 'app:1', id: id('b'), withdrawn: [id('a')] })
  })

  it('reads records back from their objects, skipping malformed ones and IDs that are not IDs', () => {
    const good = stored(imageRecordObject({ image: 'app:1', id: id('a'), withdrawn: [id('b')] }))
    const bad = { ...good, spec: { image: 'x:1', id: 'nope', withdrawn: ['nope', id('c')] } } as unknown as KubeObject
    const none = { ...good, spec: { id: id('a') } } as unknown as KubeObject
    assert.deepEqual(imageRecordOf(good), { image: 'app:1', id: id('a'), withdrawn: [id('b')] })
    assert.deepEqual(imageRecordOf(bad), { image: 'x:1', withdrawn: [id('c')] })
    assert.equal(imageRecordOf(none), undefined)
    assert.deepEqual([...imageRecords([good, bad, none]).keys()], ['app:1', 'x:1'])
  })

  it('the pushed ID wins over the one more nodes hold, as long as some node holds it', () => {
    const nodes = [
      node('h1', [{ names: ['app:1', id('a')], sizeBytes: 1 }]),
      node('h2', [{ names: ['app:1', id('a')], sizeBytes: 1 }]),
      node('h3', [{ names: ['app:1', id('b')], sizeBytes: 2 }])
    ]
    assert.equal(locateImage('app:1', nodes, 'self')?.id, id('a'), 'without a record, the most nodes win')
    const at = locateImage('app:1', nodes, 'self', 0, pushedRecord(undefined, 'app:1', id('b')))
    assert.equal(at?.id, id('b'))
    assert.deepEqual(at?.holders.map(h => h.node), ['h3'])
    assert.equal(locateImage('app:1', nodes, 'self', 0, pushedRecord(undefined, 'app:1', id('c')))?.id, id('a'), 'a pushed ID nobody holds is passed over')
    assert.equal(locateImage('app:1', nodes, 'self', 0, pushedRecord(undefined, 'other:1', id('b')))?.id, id('a'), 'another name\'s record does not count')
  })

  it('withdrawn IDs are never located, nor listed', () => {
    const nodes = [node('h1', [{ names: ['app:1', id('a')], sizeBytes: 1 }]), node('h2', [{ names: ['app:1', 'other:2', id('b')], sizeBytes: 2 }])]
    const rec = removedRecord(undefined, 'app:1', [id('a')])
    assert.equal(locateImage('app:1', nodes, 'self', 0, rec)?.id, id('b'))
    assert.equal(locateImage('app:1', nodes, 'self', 0, removedRecord(undefined, 'app:1', [id('a'), id('b')])), undefined)
    const rows = clusterImages(nodes, new Map([['app:1', removedRecord(undefined, 'app:1', [id('a'), id('b')])]]))
    assert.deepEqual(rows.map(r => `${r.name} ${r.nodes.join(',')}`), ['other:2 h2'], 'the same ID under a name not removed is still listed')
  })

  it('a node serves an ID unless every name it holds it under withdrew it', () => {
    const recs = new Map([['app:1', removedRecord(undefined, 'app:1', [id('a')])]])
    assert.equal(isServed(recs, id('a'), ['app:1']), false)
    assert.equal(isServed(recs, id('a'), ['app:1', 'other:2']), true)
    assert.equal(isServed(recs, id('b'), ['app:1']), true)
    assert.equal(isServed(recs, id('a'), []), false, 'an untagged copy of a withdrawn ID is not served')
    assert.equal(isServed(recs, id('b'), []), true)
  })
})
