import { randomUUID } from 'node:crypto'
import { after, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore, type KubeObject, type ObjectCommand, type Result } from '@shoal/core'
import { waitFor } from '@shoal/core/testing/wait.ts'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
import { createSilentLogger } from '../log.ts'
import { createEndpointsController } from './endpoints-controller.ts'
import type { StoreController } from './keyed.ts'

/**
 * The endpoints controller on its work queue, against the real ObjectStore
 * with the replication left out (a write applies at once), as the leader
 * sees its replica. Its counters show how many keys a change costs.
 */
const NOW = '2026-01-01T00:00:00Z'

class Replica {
  store = new ObjectStore()
  index = 0
  writes: ObjectCommand[] = []
  /** Refuse the next N endpoints updates as stale, as a write racing another would be. */
  conflicts = 0

  apply (cmd: ObjectCommand): Result {
    return this.store.apply(++this.index, cmd)
  }

  async write (cmd: ObjectCommand): Promise<Result> {
    if (this.conflicts > 0 && cmd.op === 'update') {
      this.conflicts--
      return { ok: false, reason: 'Conflict', code: 409, message: 'the object has been modified' }
    }
    this.writes.push(cmd)
    return this.apply(withProposerFields(cmd, { now: NOW, uid: randomUUID }))
  }

  service (name: string, app: string, namespace = 'default'): void {
    this.apply({ op: 'create', resource: 'services', uid: `uid-svc-${namespace}-${name}`, now: NOW, object: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }], clusterIP: 'None' } } })
  }

  pod (name: string, app: string, ip: string, namespace = 'default'): void {
    this.apply({ op: 'create', resource: 'pods', uid: `uid-pod-${namespace}-${name}`, now: NOW, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } } })
  }

  podPatch (name: string, patch: Record<string, unknown>, scope?: 'status'): void {
    this.apply({ op: 'patch', resource: 'pods', namespace: 'default', name, patch, now: NOW, ...(scope !== undefined ? { scope } : {}) } as ObjectCommand)
  }

  addresses (name: string, namespace = 'default'): { ready: string[], notReady: string[] } | undefined {
    const e = this.store.get('endpoints', namespace, name) as (KubeObject & { subsets?: Array<{ addresses?: Array<{ ip: string }>, notReadyAddresses?: Array<{ ip: string }> }> }) | undefined
    if (e === undefined) return undefined
    return {
      ready: (e.subsets ?? []).flatMap(s => (s.addresses ?? []).map(a => a.ip)).sort(),
      notReady: (e.subsets ?? []).flatMap(s => (s.notReadyAddresses ?? []).map(a => a.ip)).sort()
    }
  }
}

describe('the endpoints controller on a work queue', () => {
  let r: Replica
  let controller: StoreController
  let active = true
  const idle = async (): Promise<void> => { await waitFor('the queue drained', () => { const c = controller.counters(); return c.depth === 0 && c.processing === 0 && c.delayed === 0 }) }

  beforeEach(async () => {
    await controller?.stop()
    r = new Replica()
    active = true
    controller = createEndpointsController({ store: () => r.store, write: async cmd => await r.write(cmd), active: () => active, now: () => NOW, log: createSilentLogger(), queue: { baseDelayMs: 5, maxDelayMs: 50 } })
    controller.start()
  })

  after(async () => { await controller?.stop() })

  it('a Service gets its Endpoints; a pod\'s change reconciles only the Services that select or list it', async () => {
    for (let i = 0; i < 20; i++) {
      r.service(`svc-${i}`, `app-${i}`)
      r.pod(`pod-${i}`, `app-${i}`, `10.244.0.${10 + i}`)
    }
    await waitFor('20 Endpoints', () => Array.from({ length: 20 }, (_, i) => r.addresses(`svc-${i}`)?.ready.length === 1).every(Boolean))
    await idle()
    const before = controller.counters().reconciles
    // One pod turns not Ready: its one Service is reconciled, none of the 19 others.
    r.podPatch('pod-7', { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'status')
    await waitFor('pod-7 not ready', () => r.addresses('svc-7')?.notReady[0] === '10.244.0.17')
    await idle()
    assert.equal(controller.counters().reconciles - before, 1)
    // Relabelled away from svc-3 and to svc-4: both, found by the old Endpoints and the new labels.
    const relabel = controller.counters().reconciles
    r.podPatch('pod-3', { metadata: { labels: { app: 'app-4' } } })
    await waitFor('pod-3 moved to svc-4', () => r.addresses('svc-3')?.ready.length === 0 && r.addresses('svc-4')?.ready.includes('10.244.0.13') === true)
    await idle()
    assert.equal(controller.counters().reconciles - relabel, 2)
  })

  it('a deleted Service takes its Endpoints; deleted Endpoints of a Service come back', async () => {
    r.service('web', 'web')
    r.pod('web-1', 'web', '10.244.0.2')
    await waitFor('Endpoints', () => r.addresses('web')?.ready[0] === '10.244.0.2')
    r.apply({ op: 'delete', resource: 'endpoints', namespace: 'default', name: 'web' })
    await waitFor('Endpoints again', () => r.addresses('web')?.ready[0] === '10.244.0.2')
    r.apply({ op: 'delete', resource: 'services', namespace: 'default', name: 'web' })
    await waitFor('Endpoints gone', () => r.addresses('web') === undefined)
  })

  it('an update refused as stale is retried with backoff until it goes through', async () => {
    r.service('web', 'web')
    r.pod('web-1', 'web', '10.244.0.2')
    await waitFor('Endpoints', () => r.addresses('web') !== undefined)
    await idle()
    r.conflicts = 3
    r.pod('web-2', 'web', '10.244.0.3')
    await waitFor('both pods listed', () => r.addresses('web')?.ready.length === 2)
    const c = controller.counters()
    assert.equal(c.failures, 3)
    assert.equal(c.retries, 3)
  })

  it('while not active it takes no keys; becoming active, a resync catches up', async () => {
    active = false
    r.service('web', 'web')
    r.pod('web-1', 'web', '10.244.0.2')
    await idle()
    assert.equal(r.addresses('web'), undefined)
    assert.equal(controller.counters().reconciles, 0)
    active = true
    controller.resync()
    await waitFor('Endpoints after the resync', () => r.addresses('web')?.ready[0] === '10.244.0.2')
  })

  it('a replaced store (a snapshot installed) is watched again, and what changed in it is caught up', async () => {
    r.service('web', 'web')
    await waitFor('Endpoints', () => r.addresses('web') !== undefined)
    const replaced = ObjectStore.restore(r.store.snapshot())
    r.store = replaced
    r.pod('web-1', 'web', '10.244.0.2')
    controller.follow()
    await waitFor('the new store\'s pod listed', () => r.addresses('web')?.ready[0] === '10.244.0.2')
    r.pod('web-2', 'web', '10.244.0.3')
    await waitFor('and its later changes', () => r.addresses('web')?.ready.length === 2)
  })
})
