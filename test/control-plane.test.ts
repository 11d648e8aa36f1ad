import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { AgentProcess, scratchDir } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * The control plane's cost, read from its counters (GET
 * /api/shoal/v1/controllers): one agent with a hollow runtime (the real
 * agent over a simulated engine, `--runtime hollow`) runs 50 pods of two
 * Deployments, and a change to one pod costs a fixed number of reconciles,
 * whatever the number of pods: its own ReplicaSet's, and nothing else's.
 */

type Json = any
interface Counters { reconciles: number, depth: number, processing: number, delayed: number }

const deployment = (name: string, replicas: number): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'shoal-test/web:1' }] } } }
})

describe('the control plane reconciles what a change concerns', () => {
  const scratch = scratchDir('control-plane')
  const agent = new AgentProcess(scratch.path, 'cp-1', '127.0.0.231')

  before(async () => {
    await agent.start(['--runtime', 'hollow'])
    for (const [name, replicas] of [['web', 20], ['api', 30]] as const) {
      const res = await agent.request('POST', '/apis/apps/v1/namespaces/default/deployments', { json: deployment(name, replicas) })
      assert.equal(res.status, 201, res.text)
    }
    await waitFor('50 ready replicas', async () => {
      const items = (await agent.getJson('/apis/apps/v1/namespaces/default/deployments')).items as Json[]
      return items.length === 2 && items.every(d => d.status?.readyReplicas === d.spec.replicas)
    }, { timeoutMs: 30_000 })
  })

  after(async () => {
    await agent.destroy()
    scratch.remove()
  })

  const counters = async (): Promise<Record<string, Counters>> => (await agent.getJson('/api/shoal/v1/controllers')).controllers
  /** The counters once every queue is empty and two reads 300 ms apart agree: nothing is going on. */
  const settled = async (): Promise<Record<string, Counters>> => {
    let last = ''
    return await waitFor('the control plane idle', async () => {
      const c = await counters()
      const idle = Object.values(c).every(q => q.depth === 0 && q.processing === 0)
      const same = JSON.stringify(c) === last
      last = JSON.stringify(c)
      return idle && same ? c : undefined
    }, { timeoutMs: 15_000, intervalMs: 300 })
  }
  const delta = (a: Record<string, Counters>, b: Record<string, Counters>): Record<string, number> =>
    Object.fromEntries(Object.keys(b).map(k => [k, b[k]!.reconciles - (a[k]?.reconciles ?? 0)]))
  /** The Node's resourceVersion: a Node that changes (its image inventory, say) queues node lifecycle, as it should. */
  const nodeVersion = async (): Promise<string> => (await agent.getJson('/api/v1/nodes/cp-1')).metadata.resourceVersion
  /** What a window's reconciles should be, node lifecycle allowed its one reconcile if the Node changed meanwhile. */
  const expect = async (d: Record<string, number>, nodeBefore: string, want: Record<string, number>): Promise<void> => {
    const nodeMoved = await nodeVersion() !== nodeBefore
    assert.deepEqual(d, { ...want, nodelifecycle: nodeMoved ? Math.min(1, d.nodelifecycle!) : 0 })
  }
  const onePod = async (app: string): Promise<string> =>
    ((await agent.getJson(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).items as Json[])[0].metadata.name

  it('the counters name every controller on a work queue', async () => {
    const c = await counters()
    assert.deepEqual(Object.keys(c).sort(), ['deployment', 'endpoint', 'garbagecollector', 'nodelifecycle', 'replicaset', 'scheduler', 'service'])
    assert.ok(c.replicaset!.reconciles > 0, 'the ReplicaSets were reconciled')
  })

  it('a label added to one pod: one reconcile of its ReplicaSet, none anywhere else', async () => {
    const name = await onePod('web')
    const c0 = await settled()
    const node0 = await nodeVersion()
    const res = await agent.request('PATCH', `/api/v1/namespaces/default/pods/${name}`, { json: { metadata: { labels: { touched: 'yes' } } }, headers: { 'content-type': 'application/merge-patch+json' } })
    assert.equal(res.status, 200, res.text)
    const d = delta(c0, await settled())
    await expect(d, node0, { deployment: 0, endpoint: 0, garbagecollector: 0, nodelifecycle: 0, replicaset: 1, scheduler: 0, service: 0 })
  })

  it('a status change of one pod: its ReplicaSet only, at most twice (the kubelet may report once more), with 50 pods', async () => {
    const name = await onePod('api')
    const c0 = await settled()
    const node0 = await nodeVersion()
    const res = await agent.request('PATCH', `/api/v1/namespaces/default/pods/${name}/status`, {
      json: { status: { conditions: [{ type: 'example.com/Checked', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } },
      headers: { 'content-type': 'application/strategic-merge-patch+json' }
    })
    assert.equal(res.status, 200, res.text)
    const d = delta(c0, await settled())
    assert.ok(d.replicaset! >= 1 && d.replicaset! <= 2, JSON.stringify(d))
    await expect({ ...d, replicaset: 0 }, node0, { deployment: 0, endpoint: 0, garbagecollector: 0, nodelifecycle: 0, replicaset: 0, scheduler: 0, service: 0 })
  })

  it('a pod deleted: a replacement is made, and the cost stays a few reconciles', async () => {
    const name = await onePod('web')
    const c0 = await settled()
    const res = await agent.request('DELETE', `/api/v1/namespaces/default/pods/${name}`)
    assert.equal(res.status, 200, res.text)
    await waitFor('20 ready web pods again', async () => (await agent.getJson('/apis/apps/v1/namespaces/default/deployments/web')).status?.readyReplicas === 20 &&
      ((await agent.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).items as Json[]).every(p => p.metadata.name !== name))
    const d = delta(c0, await settled())
    // The deletion, the replacement's create, bind and status reports: each its own ReplicaSet's key and a handful of others'.
    const total = Object.values(d).reduce((a, b) => a + b, 0)
    assert.ok(total <= 20, `${total} reconciles for one pod replaced: ${JSON.stringify(d)}`)
    assert.ok(d.nodelifecycle! <= 1, 'node lifecycle only for a change of the Node itself')
  })
})
