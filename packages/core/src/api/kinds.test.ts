import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KINDS, infoForKind, kindForResource, qualifiedKind, qualifiedResource, resolveResource } from './kinds.ts'

describe('resource registry', () => {
  it('maps kinds, resources and groups both ways', () => {
    const d = kindForResource('deployments')
    assert.equal(d?.kind, 'Deployment')
    assert.equal(d?.apiVersion, 'apps/v1')
    assert.equal(infoForKind('Pod')?.apiVersion, 'v1')
    assert.equal(infoForKind('Node')?.namespaced, false)
    assert.equal(infoForKind('Namespace')?.namespaced, false)
    assert.equal(kindForResource('endpoints')?.kind, 'Endpoints')
    assert.equal(KINDS.length, 9)
  })

  it('resolves short names, singular names and plurals', () => {
    for (const [typed, kind] of [['deploy', 'Deployment'], ['po', 'Pod'], ['svc', 'Service'], ['rs', 'ReplicaSet'], ['cm', 'ConfigMap'], ['ns', 'Namespace'], ['no', 'Node'], ['ep', 'Endpoints'], ['ev', 'Event'], ['Deployment', 'Deployment'], ['pods', 'Pod']]) {
      assert.equal(resolveResource(typed ?? '')?.kind, kind, typed)
    }
    assert.equal(resolveResource('widgets'), undefined)
  })

  it('names resources and kinds as Kubernetes messages do', () => {
    const d = kindForResource('deployments')
    const p = kindForResource('pods')
    assert.ok(d !== undefined && p !== undefined)
    assert.equal(qualifiedResource(d), 'deployments.apps')
    assert.equal(qualifiedResource(p), 'pods')
    assert.equal(qualifiedKind(d), 'Deployment.apps')
    assert.equal(qualifiedKind(p), 'Pod')
  })
})
