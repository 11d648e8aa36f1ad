import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { deploymentRolloutState } from './rollout-status.ts'

const d = (generation: number, replicas: number, status: Record<string, unknown>): Record<string, unknown> =>
  ({ metadata: { name: 'web', generation, annotations: { 'deployment.kubernetes.io/revision': '2' } }, spec: { replicas }, status })

describe('deploymentRolloutState (kubectl\'s DeploymentStatusViewer)', () => {
  const cases: Array<[string, Record<string, unknown>, boolean, string]> = [
    ['spec not observed yet', d(2, 3, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }), false, 'Waiting for deployment spec update to be observed...'],
    ['no status at all', d(1, 3, {}), false, 'Waiting for deployment spec update to be observed...'],
    ['new replicas being updated', d(2, 3, { observedGeneration: 2, replicas: 3, updatedReplicas: 1 }), false, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'],
    ['old replicas terminating', d(2, 3, { observedGeneration: 2, replicas: 5, updatedReplicas: 3 }), false, 'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...'],
    ['updated replicas not available', d(2, 3, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1 }), false, 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...'],
    ['done', d(2, 3, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }), true, 'deployment "web" successfully rolled out'],
    ['done at zero replicas', d(4, 0, { observedGeneration: 4 }), true, 'deployment "web" successfully rolled out']
  ]
  for (const [what, obj, done, message] of cases) {
    it(what, () => assert.deepEqual(deploymentRolloutState(obj), { done, message }))
  }

  it('a progress deadline exceeded is an error, once the spec is observed', () => {
    const conditions = [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }]
    assert.throws(() => deploymentRolloutState(d(2, 3, { observedGeneration: 2, updatedReplicas: 1, conditions })), /^Error: deployment "web" exceeded its progress deadline$/)
    assert.equal(deploymentRolloutState(d(3, 3, { observedGeneration: 2, conditions })).done, false)
  })

  it('--revision must match the running revision', () => {
    const obj = d(2, 3, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })
    assert.equal(deploymentRolloutState(obj, 2).done, true)
    assert.throws(() => deploymentRolloutState(obj, 3), /desired revision \(3\) is different from the running revision \(2\)/)
  })
})
