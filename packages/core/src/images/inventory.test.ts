import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject } from '../store/types.ts'
import { clusterImages, imageKey, locateImage, nodeStatusImages, soleHoldings, type NodeImage } from './inventory.ts'

const id = (c: string): string => `sha256:${c.repeat(64)}`

function node (name: string, images: NodeImage[], ready = true): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }], images }
  } as unknown as KubeObject
}

describe('images: imageKey', () => {
  it('adds :latest, drops Docker Hub\'s implicit parts, refuses digests and bad names', () => {
    assert.equal(imageKey('kub-first-app'), 'kub-first-app:latest')
    assert.equal(imageKey('docker.io/library/nginx:1.25'), 'nginx:1.25')
    assert.equal(imageKey('docker.io/bitnami/redis'), 'bitnami/redis:latest')
    assert.equal(imageKey('registry:5000/team/app:2'), 'registry:5000/team/app:2')
    assert.equal(imageKey(`nginx@${id('a')}`), undefined)
    assert.equal(imageKey('Bad Name'), undefined)
  })
})

describe('images: nodeStatusImages', () => {
  it('lists tagged images largest first, named by their tags then their ID; untagged ones are left out', () => {
    const out = nodeStatusImages([
      { id: id('a'), tags: ['small:1'], sizeBytes: 10 },
      { id: id('b'), tags: ['<none>:<none>'], sizeBytes: 999 },
      { id: id('c'), tags: ['big:2', 'big:latest'], sizeBytes: 500 },
      { id: 'not-an-id', tags: ['x:1'], sizeBytes: 1 }
    ])
    assert.deepEqual(out, [
      { names: ['big:2', 'big:latest', id('c')], sizeBytes: 500 },
      { names: ['small:1', id('a')], sizeBytes: 10 }
    ])
  })
})

describe('images: locateImage', () => {
  const app = (c: string, size = 100): NodeImage => ({ names: ['kub-first-app:latest', id(c)], sizeBytes: size })

  it('finds the other nodes holding the image, Ready first, never the asker', () => {
    const nodes = [node('h1', [app('a')]), node('h2', [app('a')], false), node('h3', [app('a')]), node('h4', [])]
    const at = locateImage('kub-first-app', nodes, 'h3')
    assert.deepEqual(at, { id: id('a'), sizeBytes: 100, holders: [{ node: 'h1', ready: true }, { node: 'h2', ready: false }], others: [] })
    assert.equal(locateImage('other-app', nodes, 'h3'), undefined)
    assert.equal(locateImage('kub-first-app', [node('h3', [app('a')])], 'h3'), undefined)
  })

  it('spreads askers over the Ready holders', () => {
    const nodes = ['h1', 'h2', 'h3'].map(n => node(n, [app('a')]))
    const first = [0, 1, 2].map(s => locateImage('kub-first-app:latest', nodes, 'h9', s)!.holders[0]!.node)
    assert.deepEqual(first, ['h1', 'h2', 'h3'])
    assert.equal(locateImage('kub-first-app:latest', nodes, 'h9', -1)!.holders[0]!.node, 'h3')
  })

  it('two images under one name: the one most Ready nodes hold wins, then the smallest ID, deterministically', () => {
    const nodes = [node('h1', [app('b')]), node('h2', [app('a')]), node('h3', [app('a')], false), node('h4', [app('b')])]
    const at = locateImage('kub-first-app', nodes, 'h9')!
    assert.equal(at.id, id('b'), 'b: two Ready holders; a: one Ready, one not')
    assert.deepEqual(at.others, [id('a')])
    const tie = locateImage('kub-first-app', [node('h1', [app('b')]), node('h2', [app('a')])], 'h9')!
    assert.equal(tie.id, id('a'))
    assert.deepEqual(locateImage('kub-first-app', [node('h2', [app('a')]), node('h1', [app('b')])], 'h9'), tie, 'the order of the Nodes does not matter')
  })

  it('matches Docker Hub names however the pod spells them', () => {
    const nodes = [node('h1', [{ names: ['nginx:1.25', id('d')], sizeBytes: 5 }])]
    assert.equal(locateImage('docker.io/library/nginx:1.25', nodes, 'h2')?.id, id('d'))
  })

  it('skips malformed status entries', () => {
    const nodes = [node('h1', [{ names: 'x' } as unknown as NodeImage, app('a')])]
    assert.equal(locateImage('kub-first-app', nodes, 'h2')?.id, id('a'))
  })
})

describe('images: clusterImages', () => {
  it('one row per name and ID, with the nodes holding it', () => {
    const rows = clusterImages([
      node('h2', [{ names: ['web:1', 'web:latest', id('e')], sizeBytes: 7 }]),
      node('h1', [{ names: ['web:1', id('e')], sizeBytes: 7 }, { names: ['web:latest', id('f')], sizeBytes: 8 }])
    ])
    assert.deepEqual(rows, [
      { name: 'web:1', id: id('e'), sizeBytes: 7, nodes: ['h1', 'h2'] },
      { name: 'web:latest', id: id('e'), sizeBytes: 7, nodes: ['h2'] },
      { name: 'web:latest', id: id('f'), sizeBytes: 8, nodes: ['h1'] }
    ])
  })
})

describe('images: soleHoldings', () => {
  it('the IDs only this node holds among the Ready nodes, smallest first; none withdrawn, none in a cluster of one', () => {
    const nodes = [
      node('h1', [{ names: ['big:1', id('a')], sizeBytes: 100 }, { names: ['web:1', id('b')], sizeBytes: 7 }, { names: ['shared:1', id('c')], sizeBytes: 5 }, { names: ['gone:1', id('d')], sizeBytes: 3 }]),
      node('h2', [{ names: ['shared:2', id('c')], sizeBytes: 5 }]),
      node('h3', [{ names: ['web:1', id('b')], sizeBytes: 7 }], false)
    ]
    const withdrawn = new Map([['gone:1', { image: 'gone:1', withdrawn: [id('d')] }]])
    // web:1 is on h3 too, but h3 is not Ready: h1's is the copy to fetch.
    assert.deepEqual(soleHoldings(nodes, 'h1', withdrawn), [{ id: id('b'), sizeBytes: 7 }, { id: id('a'), sizeBytes: 100 }])
    assert.deepEqual(soleHoldings(nodes, 'h2', withdrawn), [])
    assert.deepEqual(soleHoldings(nodes, 'h3', withdrawn), [], 'h3 shares web:1 with h1')
    assert.deepEqual(soleHoldings([nodes[0]!], 'h1'), [], 'a cluster of one has nobody to fetch')
  })
})
