import { randomUUID } from 'node:crypto'
import { after, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore, type KubeObject, type ObjectCommand, type Result } from '@shoal/core'
import { waitFor } from '@shoal/core/testing/wait.ts'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
import { createSilentLogger } from '../log.ts'
import { createReplicaSetController } from './replicaset-controller.ts'
import type { StoreController } from './keyed.ts'

/**
 * The replicaset controller on its work queue, against the real
 * ObjectStore with the replication left out (a write applies at once), as
 * the leader sees its replica. Its counters show how many keys a change costs.
 */
const rfc3339 = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
let names = 0

class Replica {
  store = new ObjectStore()
  index = 0
  /** Refuse the next N pod creations, as a write racing another would be. */
  refusals = 0

  apply (cmd: ObjectCommand): Result {
    return this.store.apply(++this.index, cmd)
  }

  async write (cmd: ObjectCommand): Promise<Result> {
    if (this.refusals > 0 && cmd.op === 'create' && cmd.resource === 'pods') {
      this.refusals--
      return { ok: false, reason: 'Conflict', code: 409, message: 'refused for the test' }
    }
    return this.apply(withProposerFields(cmd, { now: rfc3339(), uid: randomUUID }))
  }

  replicaSet (name: string, replicas: number, minReadySeconds = 0): void {
    this.apply({
      op: 'create', resource: 'replicasets', uid: `uid-rs-${name}`, now: rfc3339(),
      object: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default' }, spec: { replicas, minReadySeconds, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } }
    })
  }

  pods (app: string): KubeObject[] {
    const r = this.store.list('pods', { namespace: 'default' })
    return r.ok ? r.items.filter(p => p.metadata.labels?.app === app && p.metadata.deletionTimestamp === undefined) : []
  }

  rs (name: string): KubeObject & { status?: { replicas?: number, readyReplicas?: number, availableReplicas?: number } } {
    return this.store.get('replicasets', 'default', name) as KubeObject & { status?: { replicas?: number, readyReplicas?: number, availableReplicas?: number } }
  }

  ready (pod: KubeObject, at = rfc3339()): void {
    this.apply({ op: 'patch', resource: 'pods', namespace: 'default', name: pod.metadata.name, scope: 'status', now: rfc3339(), patch: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }] } } })
  }
}

describe('the replicaset controller on a work queue', () => {
  let r: Replica
  let controller: StoreController
  const idle = async (): Promise<void> => { await waitFor('the queue drained', () => { const c = controller.counters(); return c.depth === 0 && c.processing === 0 && c.delayed === 0 }) }

  beforeEach(async () => {
    await controller?.stop()
    r = new Replica()
    controller = createReplicaSetController({
      store: () => r.store, write: async cmd => await r.write(cmd), active: () => true, now: () => rfc3339(),
      podNameSuffix: () => String(++names).padStart(5, 'x'), eventName: o => `${o}.${++names}`, log: createSilentLogger(), queue: { baseDelayMs: 5, maxDelayMs: 50 }
    })
    controller.start()
  })

  after(async () => { await controller?.stop() })

  it('makes the pods a ReplicaSet asks for, replaces one deleted, and a pod\'s status change costs its own ReplicaSet\'s reconciles only', async () => {
    r.replicaSet('web', 3)
    r.replicaSet('db', 2)
    await waitFor('3 web and 2 db pods', () => r.pods('web').length === 3 && r.pods('db').length === 2)
    await idle()
    const pods = r.pods('web')
    const before = controller.counters().reconciles
    r.ready(pods[0]!)
    await waitFor('web readyReplicas 1', () => r.rs('web').status?.readyReplicas === 1)
    await idle()
    // The pod's change, then the status write's own change of the ReplicaSet: web only, never db.
    assert.ok(controller.counters().reconciles - before <= 2, `${controller.counters().reconciles - before} reconciles`)
    r.apply({ op: 'delete', resource: 'pods', namespace: 'default', name: pods[1]!.metadata.name })
    await waitFor('a replacement', () => r.pods('web').length === 3 && !r.pods('web').some(p => p.metadata.name === pods[1]!.metadata.name))
    await idle()
    assert.equal(r.pods('web').length, 3, 'no pod twice for one slot')
  })

  it('adopts an orphan its selector matches, and counts it', async () => {
    r.apply({ op: 'create', resource: 'pods', uid: 'uid-orphan', now: rfc3339(), object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } })
    r.replicaSet('web', 2)
    await waitFor('2 web pods, the orphan one of them', () => r.pods('web').length === 2 && r.pods('web').some(p => p.metadata.name === 'orphan' && p.metadata.ownerReferences?.[0]?.name === 'web'))
    await idle()
    assert.equal(r.pods('web').length, 2)
  })

  it('refused creations are retried with backoff until the count is right', async () => {
    r.refusals = 2
    r.replicaSet('web', 2)
    await waitFor('2 web pods', () => r.pods('web').length === 2)
    await idle()
    assert.ok(controller.counters().failures >= 1)
    assert.ok(controller.counters().retries >= 1)
    assert.equal(r.pods('web').length, 2)
  })

  it('a pod Ready for minReadySeconds turns available with no event to say so', async () => {
    r.replicaSet('slow', 1, 1)
    await waitFor('1 pod', () => r.pods('slow').length === 1)
    r.ready(r.pods('slow')[0]!)
    await waitFor('readyReplicas 1, not yet available', () => r.rs('slow').status?.readyReplicas === 1)
    assert.equal(r.rs('slow').status?.availableReplicas ?? 0, 0)
    await waitFor('availableReplicas 1 after minReadySeconds', () => r.rs('slow').status?.availableReplicas === 1, { timeoutMs: 5000 })
  })
})
