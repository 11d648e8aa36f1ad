import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatHistory, revisionsOf, rollbackPatch, rollbackTarget, type ReplicaSetView } from './rollout-history.ts'

const template = (image: string, hash?: string): Record<string, unknown> =>
  ({ metadata: { labels: { app: 'web', ...(hash !== undefined ? { 'pod-template-hash': hash } : {}) } }, spec: { containers: [{ name: 'web', image }] } })

const deployment = { metadata: { name: 'web', uid: 'd1', annotations: { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { template: template('web:3') } }

const rs = (name: string, revision: string | undefined, image: string, owner = 'd1', cause?: string): ReplicaSetView => ({
  metadata: {
    name,
    annotations: { ...(revision !== undefined ? { 'deployment.kubernetes.io/revision': revision } : {}), ...(cause !== undefined ? { 'kubernetes.io/change-cause': cause } : {}) },
    ownerReferences: [{ uid: owner, controller: true }]
  },
  spec: { template: template(image, name) }
})

const all = [rs('web-c', '3', 'web:3'), rs('web-a', '1', 'web:1', 'd1', 'first'), rs('other', '7', 'x', 'd2'), rs('web-b', '2', 'web:2'), rs('web-x', undefined, 'web:0')]

describe('rollout history', () => {
  it('lists the Deployment\'s own ReplicaSets by revision, ascending', () => {
    assert.deepEqual(revisionsOf(deployment, all).map(r => [r.revision, r.rs.metadata?.name]), [[1, 'web-a'], [2, 'web-b'], [3, 'web-c']])
  })

  it('prints REVISION and CHANGE-CAUSE as kubectl pads them, <none> without a cause', () => {
    assert.equal(formatHistory(revisionsOf(deployment, all)), 'REVISION  CHANGE-CAUSE\n1         first\n2         <none>\n3         <none>\n')
    assert.equal(formatHistory([]), 'No rollout history found.\n')
  })
})

describe('rollout undo', () => {
  const revisions = revisionsOf(deployment, all)

  it('goes back to the previous revision, or the one asked for', () => {
    assert.equal(rollbackTarget(deployment, revisions, 0).revision, 2)
    assert.equal(rollbackTarget(deployment, revisions, 1).revision, 1)
    assert.throws(() => rollbackTarget(deployment, revisions, 9), /^Error: unable to find specified revision 9 in history$/)
    assert.throws(() => rollbackTarget(deployment, revisions.slice(2), 0), /^Error: no rollout history found for deployment "web"$/)
  })

  it('patches in the template without pod-template-hash and the ReplicaSet\'s annotations, keeping the Deployment\'s own', () => {
    assert.deepEqual(rollbackPatch(deployment, rs('web-a', '1', 'web:1', 'd1', 'first')), [
      { op: 'replace', path: '/spec/template', value: template('web:1') },
      { op: 'add', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'kubernetes.io/change-cause': 'first' } }
    ])
  })

  it('skips when the template already is that revision\'s', () => {
    assert.equal(rollbackPatch(deployment, rs('web-c', '3', 'web:3')), undefined)
  })
})
