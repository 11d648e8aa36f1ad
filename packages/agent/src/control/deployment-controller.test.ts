import { randomUUID } from 'node:crypto'
import { after, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore, type KubeObject, type ObjectCommand, type Result } from '@shoal/core'
import { waitFor } from '@shoal/core/testing/wait.ts'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
import { createSilentLogger } from '../log.ts'
import { createDeploymentController } from './deployment-controller.ts'
import { createReplicaSetController } from './replicaset-controller.ts'
import type { StoreController } from './keyed.ts'

/**
 * The deployment controller on its work queue, with the replicaset
 * controller on its own beside it, against the real ObjectStore with the
 * replication left out (a write applies at once). No kubelet: pods turn
 * Ready when the test says so.
 */
const rfc3339 = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
let names = 0
type Status = { replicas?: number, updatedReplicas?: number, availableReplicas?: number, conditions?: Array<{ type: string, status: string, reason: string }> }

describe('the deployment controller on a work queue', () => {
  let store: ObjectStore
  let index = 0
  let controllers: StoreController[] = []
  const apply = (cmd: ObjectCommand): Result => store.apply(++index, cmd)
  const list = (resource: string): readonly KubeObject[] => { const r = store.list(resource, { namespace: 'default' }); return r.ok ? r.items : [] }
  const status = (name: string): Status => (store.get('deployments', 'default', name)?.status ?? {}) as Status
  const deployment = (name: string, image: string, extra: Record<string, unknown> = {}): void => {
    apply({ op: 'create', resource: 'deployments', uid: `uid-d-${name}`, now: rfc3339(), object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } }, ...extra } } })
  }
  const readyAll = (): void => {
    for (const p of list('pods')) {
      if ((p.status as { conditions?: unknown[] } | undefined)?.conditions !== undefined) continue
      apply({ op: 'patch', resource: 'pods', namespace: 'default', name: p.metadata.name, scope: 'status', now: rfc3339(), patch: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339() }] } } })
    }
  }

  beforeEach(async () => {
    for (const c of controllers) await c.stop()
    store = new ObjectStore()
    index = 0
    const common = { store: () => store, write: async (cmd: ObjectCommand) => apply(withProposerFields(cmd, { now: rfc3339(), uid: randomUUID })), active: () => true, now: () => rfc3339(), eventName: (o: string) => `${o}.${++names}`, log: createSilentLogger(), queue: { baseDelayMs: 5, maxDelayMs: 50 } }
    controllers = [createDeploymentController(common), createReplicaSetController({ ...common, podNameSuffix: () => String(++names).padStart(5, 'x') })]
    for (const c of controllers) c.start()
  })

  after(async () => { for (const c of controllers) await c.stop() })

  it('rolls a new template out: a new ReplicaSet scaled up as pods turn Ready, the old one down to 0', async () => {
    deployment('web', 'web:1')
    await waitFor('2 pods of web:1', () => list('pods').length === 2)
    readyAll()
    await waitFor('web available', () => status('web').availableReplicas === 2)
    const dep = store.get('deployments', 'default', 'web')!
    apply({ op: 'patch', resource: 'deployments', namespace: 'default', name: 'web', now: rfc3339(), patch: { spec: { template: { spec: { containers: [{ name: 'c', image: 'web:2' }] } } } } })
    await waitFor('the rollout done', () => {
      readyAll()
      const rss = list('replicasets')
      const s = status('web')
      return rss.length === 2 && s.updatedReplicas === 2 && s.availableReplicas === 2 && s.replicas === 2 &&
        rss.every(rs => ((rs.spec as { replicas: number }).replicas === 0) === ((rs.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image === 'web:1'))
    }, { intervalMs: 20 })
    assert.equal(dep.metadata.uid, store.get('deployments', 'default', 'web')!.metadata.uid)
  })

  it('a rollout that stops progressing times out at its deadline, with no event to say so', async () => {
    deployment('stuck', 'stuck:1', { progressDeadlineSeconds: 1 })
    await waitFor('Progressing', () => status('stuck').conditions?.some(c => c.type === 'Progressing' && c.status === 'True') === true)
    // Its pods never turn Ready.
    await waitFor('ProgressDeadlineExceeded', () => status('stuck').conditions?.some(c => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded') === true, { timeoutMs: 6000 })
  })
})
