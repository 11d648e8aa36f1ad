import { randomUUID } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore, type BatchCommand, type BatchResult, type KubeObject, type ObjectCommand, type Result } from '@shoal/core'
import { waitFor } from '@shoal/core/testing/wait.ts'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
import { node, pod } from '@shoal/core/scheduler/test-fixtures.ts'
import type { ProxyFailure } from '@shoal/core/controllers/endpoints.ts'
import { createSilentLogger } from '../log.ts'
import { createGarbageCollector } from './gc-controller.ts'
import { createNodeLifecycleController } from './node-lifecycle-controller.ts'
import { createSchedulerController } from './scheduler-controller.ts'
import { createServiceStatusController } from './service-status-controller.ts'
import type { ControllerDeps, StoreController } from './keyed.ts'

/**
 * The garbage collector, the node lifecycle controller, the scheduler and
 * the Service status controller on their work queues, each against the real
 * ObjectStore with the replication left out (a write applies at once), as
 * the leader sees its replica. Their counters show what a change costs.
 */
const rfc3339 = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
let serial = 0

class Replica {
  store = new ObjectStore()
  index = 0

  apply (cmd: ObjectCommand | BatchCommand): Result | BatchResult {
    return this.store.apply(++this.index, cmd as ObjectCommand)
  }

  create (resource: string, o: KubeObject): KubeObject {
    const r = this.apply({ op: 'create', resource, object: o, uid: o.metadata.uid, now: rfc3339() }) as Result
    assert.ok(r.ok, JSON.stringify(r))
    return this.get(resource, o.metadata.name, o.metadata.namespace ?? '')!
  }

  get (resource: string, name: string, namespace = 'default'): KubeObject | undefined {
    return this.store.get(resource, resource === 'nodes' ? '' : namespace, name)
  }

  delete (resource: string, name: string, namespace = 'default'): void {
    assert.ok((this.apply({ op: 'delete', resource, namespace, name }) as Result).ok)
  }

  patch (resource: string, name: string, patch: Record<string, unknown>, scope?: 'status'): void {
    const r = this.apply({ op: 'patch', resource, namespace: resource === 'nodes' ? '' : 'default', name, patch, now: rfc3339(), ...(scope !== undefined ? { scope } : {}) } as ObjectCommand) as Result
    assert.ok(r.ok, JSON.stringify(r))
  }

  deps (): ControllerDeps {
    return {
      store: () => this.store,
      write: async cmd => this.apply(withProposerFields(cmd, { now: rfc3339(), uid: randomUUID })) as Result,
      active: () => true,
      now: () => rfc3339(),
      log: createSilentLogger(),
      queue: { baseDelayMs: 5, maxDelayMs: 50 }
    }
  }
}

const owner = (kind: string, o: KubeObject): Record<string, unknown> => ({ apiVersion: kind === 'Deployment' || kind === 'ReplicaSet' ? 'apps/v1' : 'v1', kind, name: o.metadata.name, uid: o.metadata.uid, controller: true })
const object = (kind: string, name: string, owners: Array<Record<string, unknown>> = []): KubeObject => ({
  apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1',
  kind,
  metadata: { name, namespace: 'default', uid: `uid-${name}-${++serial}`, ...(owners.length > 0 ? { ownerReferences: owners } : {}) } as KubeObject['metadata'],
  spec: kind === 'Pod' ? { containers: [{ name: 'c', image: 'i' }] } : { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } } }
})

describe('controllers on work queues', () => {
  let controller: StoreController | undefined
  const idle = async (): Promise<void> => {
    await waitFor('the queue drained', () => { const c = controller!.counters(); return c.depth === 0 && c.processing === 0 })
  }
  const run = (c: StoreController): StoreController => {
    controller = c
    c.start()
    c.resync()
    return c
  }
  afterEach(async () => { await controller?.stop() })

  describe('the garbage collector', () => {
    it('a Deployment deleted takes its ReplicaSet, then its pods; a change to an owned object whose owners exist costs no reconcile', async () => {
      const r = new Replica()
      const gc = run(createGarbageCollector(r.deps()))
      const d = r.create('deployments', object('Deployment', 'web'))
      const rs = r.create('replicasets', object('ReplicaSet', 'web-1', [owner('Deployment', d)]))
      const pods = ['a', 'b', 'c'].map(n => r.create('pods', object('Pod', `web-1-${n}`, [owner('ReplicaSet', rs)])))
      const other = r.create('pods', object('Pod', 'lone'))
      await idle()
      const before = gc.counters().reconciles
      for (let i = 0; i < 5; i++) r.patch('pods', pods[0]!.metadata.name, { status: { phase: 'Running', message: `round ${i}` } }, 'status')
      await idle()
      assert.equal(gc.counters().reconciles, before, 'a status change to a pod whose owner exists is not reconciled')

      r.delete('deployments', 'web')
      await waitFor('the ReplicaSet and its pods collected', () => r.get('replicasets', 'web-1') === undefined && pods.every(p => r.get('pods', p.metadata.name) === undefined))
      assert.ok(r.get('pods', other.metadata.name) !== undefined, 'an object without owners stays')
      await idle()
      assert.equal(gc.counters().reconciles - before, 4, 'one reconcile for the ReplicaSet and one for each pod')
    })

    it('an object made naming an owner that is gone is deleted; one with an owner left keeps only that reference', async () => {
      const r = new Replica()
      run(createGarbageCollector(r.deps()))
      const d = r.create('deployments', object('Deployment', 'keep'))
      const gone = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'uid-never-was', controller: true }
      r.create('pods', object('Pod', 'orphan', [gone]))
      r.create('pods', object('Pod', 'half', [gone, { ...owner('Deployment', d), controller: false }]))
      // A kind the collector does not judge is assumed alive.
      r.create('pods', object('Pod', 'stateful', [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's', uid: 'uid-s', controller: true }]))
      await waitFor('the orphan deleted', () => r.get('pods', 'orphan') === undefined)
      await waitFor('the dangling reference removed', () => r.get('pods', 'half')?.metadata.ownerReferences?.length === 1)
      assert.equal(r.get('pods', 'half')!.metadata.ownerReferences![0]!.uid, d.metadata.uid)
      await idle()
      assert.ok(r.get('pods', 'stateful') !== undefined)
    })

    it('an owner replaced under the same name is another owner: its old dependents go', async () => {
      const r = new Replica()
      run(createGarbageCollector(r.deps()))
      const rs = r.create('replicasets', object('ReplicaSet', 'web-1'))
      r.create('pods', object('Pod', 'web-1-a', [owner('ReplicaSet', rs)]))
      await idle()
      r.delete('replicasets', 'web-1')
      r.create('replicasets', object('ReplicaSet', 'web-1'))
      await waitFor('the old ReplicaSet\'s pod collected', () => r.get('pods', 'web-1-a') === undefined)
    })
  })

  describe('the scheduler', () => {
    const writeBatch = (r: Replica) => async (cmd: BatchCommand): Promise<BatchResult> => r.apply(cmd) as BatchResult
    const ids = { eventName: (p: KubeObject) => `${p.metadata.name}.${++serial}`, uid: () => `uid-event-${++serial}` }
    const nodeOf = (r: Replica, name: string): string | undefined => (r.get('pods', name)?.spec as { nodeName?: string } | undefined)?.nodeName

    it('binds pending pods, spread over the nodes; with nothing pending a pod\'s change costs no pass', async () => {
      const r = new Replica()
      const s = run(createSchedulerController({ ...r.deps(), ids, writeBatch: writeBatch(r) }))
      r.create('nodes', node('n1'))
      r.create('nodes', node('n2'))
      for (let i = 0; i < 6; i++) r.create('pods', pod(`p${i}`))
      await waitFor('every pod bound', () => [0, 1, 2, 3, 4, 5].every(i => nodeOf(r, `p${i}`) !== undefined))
      const spread = new Map<string, number>()
      for (let i = 0; i < 6; i++) spread.set(nodeOf(r, `p${i}`)!, (spread.get(nodeOf(r, `p${i}`)!) ?? 0) + 1)
      assert.deepEqual([...spread.values()], [3, 3])
      await idle()
      const before = s.counters().reconciles
      for (let i = 0; i < 5; i++) r.patch('pods', 'p0', { status: { phase: 'Running', message: `round ${i}` } }, 'status')
      r.patch('nodes', 'n1', { metadata: { labels: { zone: 'a' } } })
      await idle()
      assert.equal(s.counters().reconciles, before)
    })

    it('a pod no node can take is marked Unschedulable, and bound once a node that fits joins', async () => {
      const r = new Replica()
      run(createSchedulerController({ ...r.deps(), ids, writeBatch: writeBatch(r) }))
      r.create('nodes', node('small', { cpu: '1' }))
      r.create('pods', pod('big', { cpu: '3' }))
      await waitFor('the pod marked Unschedulable', () => ((r.get('pods', 'big')?.status as { conditions?: Array<{ type: string, reason?: string }> } | undefined)?.conditions ?? []).some(c => c.type === 'PodScheduled' && c.reason === 'Unschedulable'))
      assert.equal(nodeOf(r, 'big'), undefined)
      r.create('nodes', node('large', { cpu: '4' }))
      await waitFor('the pod bound to the new node', () => nodeOf(r, 'big') === 'large')
    })
  })

  describe('node lifecycle', () => {
    const ready = (status: 'True' | 'Unknown', since: string): Record<string, unknown> => ({ status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', message: '', lastHeartbeatTime: since, lastTransitionTime: since }] } })
    const podReady = (r: Replica, name: string): boolean => ((r.get('pods', name)?.status as { conditions?: Array<{ type: string, status: string }> } | undefined)?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')

    it('a node gone Unknown: taints, its pods marked not Ready at once and deleted when the timeout is up; the other node\'s pods untouched, and their changes cost nothing', async () => {
      const r = new Replica()
      const lifecycle = run(createNodeLifecycleController({ ...r.deps(), eventName: o => `${o}.${++serial}`, hasMember: () => false, podEvictionTimeoutMs: 2000 }))
      r.create('nodes', node('n1'))
      r.create('nodes', node('n2'))
      for (const [name, on] of [['a1', 'n1'], ['a2', 'n1'], ['b1', 'n2']] as const) {
        r.create('pods', pod(name, { nodeName: on }))
        r.patch('pods', name, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status')
      }
      await idle()
      const before = lifecycle.counters().reconciles
      r.patch('pods', 'b1', { status: { message: 'changed' } }, 'status')
      await idle()
      assert.equal(lifecycle.counters().reconciles, before, 'a pod on a Ready node is not reconciled')

      const lost = Date.now()
      r.patch('nodes', 'n1', ready('Unknown', rfc3339()), 'status')
      await waitFor('n1 tainted unreachable and its pods not Ready', () => {
        const taints = ((r.get('nodes', 'n1')?.spec as { taints?: Array<{ key: string }> } | undefined)?.taints ?? [])
        return taints.some(t => t.key === 'node.kubernetes.io/unreachable') && !podReady(r, 'a1') && !podReady(r, 'a2')
      })
      assert.ok(r.get('pods', 'a1') !== undefined, 'not deleted before the timeout')
      await waitFor('n1\'s pods deleted', () => r.get('pods', 'a1') === undefined && r.get('pods', 'a2') === undefined, { timeoutMs: 6000 })
      assert.ok(Date.now() - lost >= 1000, 'deleted after the timeout (to the second), not at once')
      assert.ok(podReady(r, 'b1') && r.get('pods', 'b1') !== undefined)
    })

    it('a pod bound to a node that does not exist is deleted, unless a member of that name is about to get its Node', async () => {
      const r = new Replica()
      const members = new Set(['joining'])
      run(createNodeLifecycleController({ ...r.deps(), eventName: o => `${o}.${++serial}`, hasMember: name => members.has(name) }))
      r.create('nodes', node('n1'))
      r.create('pods', pod('early', { nodeName: 'joining' }))
      r.create('pods', pod('stray', { nodeName: 'nowhere' }))
      await waitFor('the stray pod deleted', () => r.get('pods', 'stray') === undefined)
      await idle()
      assert.ok(r.get('pods', 'early') !== undefined, 'a pod bound to a member whose Node is yet to come stays')
      r.create('nodes', node('joining'))
      await idle()
      assert.ok(r.get('pods', 'early') !== undefined)
    })
  })

  describe('Service status', () => {
    const lb = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `uid-${name}` } as KubeObject['metadata'], spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] } })
    const withAddress = (n: KubeObject, ip: string): KubeObject => ({ ...n, status: { ...(n.status as object), addresses: [{ type: 'InternalIP', address: ip }] } })
    const ingress = (r: Replica, name: string): string[] => ((r.get('services', name)?.status as { loadBalancer?: { ingress?: Array<{ ip: string }> } } | undefined)?.loadBalancer?.ingress ?? []).map(i => i.ip)

    it('a LoadBalancer lists the Ready nodes; a node turning NotReady, or its proxy failing to listen, takes it out', async () => {
      const r = new Replica()
      let failures: ProxyFailure[] = []
      const status = createServiceStatusController({ ...r.deps(), failures: () => failures })
      run(status)
      r.create('nodes', withAddress(node('n1'), '10.0.0.1'))
      r.create('nodes', withAddress(node('n2'), '10.0.0.2'))
      r.create('services', lb('web'))
      r.create('services', lb('db'))
      await waitFor('both nodes listed', () => ingress(r, 'web').join() === '10.0.0.1,10.0.0.2' && ingress(r, 'db').length === 2)
      r.patch('nodes', 'n2', { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: '', lastHeartbeatTime: rfc3339(), lastTransitionTime: rfc3339() }] } }, 'status')
      await waitFor('n2 taken out', () => ingress(r, 'web').join() === '10.0.0.1' && ingress(r, 'db').join() === '10.0.0.1')
      await idle()
      const before = status.counters().reconciles
      failures = [{ node: 'n1', service: 'default/web', message: 'port 80 is taken' }]
      status.check()
      await waitFor('the failure on web', () => ingress(r, 'web').length === 0)
      await idle()
      // The Service the failure names, and once more for the status it wrote; not db.
      assert.equal(status.counters().reconciles - before, 2, 'only the Service the failure names is reconciled')
      assert.deepEqual(ingress(r, 'db'), ['10.0.0.1'])
      const condition = ((r.get('services', 'web')?.status as { conditions?: Array<{ type: string, status: string, message: string }> }).conditions ?? []).find(c => c.type === 'ProxyListening')
      assert.equal(condition?.status, 'False')
      assert.match(condition?.message ?? '', /node n1: port 80 is taken/)
      status.check()
      await idle()
      assert.equal(status.counters().reconciles - before, 2, 'the same failures again queue nothing')
    })
  })
})
