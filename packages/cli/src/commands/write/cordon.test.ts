import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { drainNode, drainOptions, drainPlan, nodeNames, setUnschedulable, type NodeIo, type PodView } from './cordon.ts'
import { ServerError } from '../../api.ts'

type Rec = Record<string, unknown>

interface FakePod extends PodView { spec: { nodeName: string, volumes?: Rec[] } }

const pod = (name: string, o: { namespace?: string, controller?: string, phase?: string, emptyDir?: boolean, mirror?: boolean, node?: string } = {}): FakePod => ({
  metadata: {
    name,
    namespace: o.namespace ?? 'default',
    uid: `uid-${name}`,
    ...(o.controller !== undefined ? { ownerReferences: [{ kind: o.controller, name: 'owner', controller: true }] } : {}),
    ...(o.mirror === true ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {})
  },
  spec: { nodeName: o.node ?? 'n1', ...(o.emptyDir === true ? { volumes: [{ name: 'tmp', emptyDir: {} }] } : {}) },
  status: { phase: o.phase ?? 'Running' }
})

/**
 * An API over one node and some pods. A deleted pod disappears after
 * `lingerPolls` checks; with `replace`, a new pod of the same name (another
 * uid) takes its place, as a StatefulSet's would.
 */
class FakeApi {
  readonly out: string[] = []
  readonly err: string[] = []
  readonly requests: string[] = []
  readonly deleting = new Map<string, number>()
  node: { metadata: { name: string }, spec: Rec } = { metadata: { name: 'n1' }, spec: {} }
  pods: FakePod[]
  readonly lingerPolls: number
  readonly replace: Set<string>
  clock = 0
  constructor (pods: FakePod[], lingerPolls = 0, replace = new Set<string>()) {
    this.pods = pods
    this.lingerPolls = lingerPolls
    this.replace = replace
  }

  io (): NodeIo {
    return {
      request: async <T>(method: string, path: string, body?: unknown) => this.handle(method, path, body) as T,
      out: l => { this.out.push(l) },
      err: l => { this.err.push(l) },
      sleep: async ms => { this.clock += ms },
      now: () => this.clock
    }
  }

  handle (method: string, path: string, body?: unknown): unknown {
    this.requests.push(`${method} ${path}${body !== undefined ? ` ${JSON.stringify(body)}` : ''}`)
    if (path === '/api/v1/nodes/n1') {
      if (method === 'PATCH') this.node = { ...this.node, spec: Object.fromEntries(Object.entries({ ...this.node.spec, ...(body as { spec: Rec }).spec }).filter(([, v]) => v !== null)) }
      return this.node
    }
    if (path.startsWith('/api/v1/nodes/')) throw new ServerError(404, { reason: 'NotFound', message: `nodes "${decodeURIComponent(path.slice(14))}" not found` })
    if (path.startsWith('/api/v1/nodes?')) return { items: [this.node] }
    if (path.startsWith('/api/v1/pods?fieldSelector=')) {
      const node = decodeURIComponent(path.slice(path.indexOf('=') + 1)).replace('spec.nodeName=', '')
      return { items: this.pods.filter(p => p.spec.nodeName === node) }
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path)
    assert.ok(m !== null, `unexpected ${method} ${path}`)
    const key = `${m[1]}/${m[2]}`
    const i = this.pods.findIndex(p => `${p.metadata.namespace}/${p.metadata.name}` === key)
    if (i < 0) throw new ServerError(404, { reason: 'NotFound', message: `pods "${m[2]}" not found` })
    if (method === 'DELETE') {
      this.deleting.set(key, this.lingerPolls)
      return this.pods[i]
    }
    const left = this.deleting.get(key)
    if (left !== undefined && left <= 0) {
      this.deleting.delete(key)
      const gone = this.pods.splice(i, 1)[0]!
      if (this.replace.has(gone.metadata.name)) {
        this.pods.push({ ...gone, metadata: { ...gone.metadata, uid: `${gone.metadata.uid}-2` }, spec: { ...gone.spec, nodeName: 'n2' } })
        return this.pods[this.pods.length - 1]
      }
      throw new ServerError(404, { reason: 'NotFound', message: `pods "${m[2]}" not found` })
    }
    if (left !== undefined) this.deleting.set(key, left - 1)
    return this.pods[i]
  }
}

const defaults = { force: false, ignoreDaemonsets: false, deleteEmptydirData: false, timeoutMs: 0, pollMs: 1000 }

describe('cordon / uncordon', () => {
  it('patches spec.unschedulable and says so, or says it already was', async () => {
    const api = new FakeApi([])
    await setUnschedulable(api.io(), 'n1', true)
    await setUnschedulable(api.io(), 'n1', true)
    await setUnschedulable(api.io(), 'n1', false)
    await setUnschedulable(api.io(), 'n1', false)
    assert.deepEqual(api.out, ['node/n1 cordoned', 'node/n1 already cordoned', 'node/n1 uncordoned', 'node/n1 already uncordoned'])
    assert.deepEqual(api.requests.filter(r => r.startsWith('PATCH')), ['PATCH /api/v1/nodes/n1 {"spec":{"unschedulable":true}}', 'PATCH /api/v1/nodes/n1 {"spec":{"unschedulable":null}}'])
  })

  it('a missing node is the server\'s NotFound', async () => {
    await assert.rejects(setUnschedulable(new FakeApi([]).io(), 'nope', true), { message: 'nodes "nope" not found' })
  })

  it('takes names or a selector, not both, and at least one', async () => {
    const io = new FakeApi([]).io()
    assert.deepEqual(await nodeNames(io, 'cordon', ['a', 'b'], undefined), ['a', 'b'])
    assert.deepEqual(await nodeNames(io, 'cordon', [], 'disk=ssd'), ['n1'])
    await assert.rejects(nodeNames(io, 'cordon', ['a'], 'disk=ssd'), /cannot specify both a node name and a --selector option/)
    await assert.rejects(nodeNames(io, 'drain', [], undefined), /a node name is required: drain NODE/)
  })
})

describe('drainPlan (kubectl\'s drain filters)', () => {
  const pods = [
    pod('web-1', { controller: 'ReplicaSet' }),
    pod('lonely'),
    pod('ds-x', { controller: 'DaemonSet', namespace: 'kube-system' }),
    pod('static', { mirror: true }),
    pod('cache', { controller: 'ReplicaSet', emptyDir: true }),
    pod('job-done', { phase: 'Succeeded' }),
    pod('scratch', { emptyDir: true })
  ]
  const names = (ps: readonly PodView[]): string[] => ps.map(p => p.metadata.name)

  it('refuses pods without a controller, DaemonSet pods and local storage, in kubectl\'s words', () => {
    const plan = drainPlan(pods, defaults)
    assert.deepEqual(plan.errors, [
      'cannot delete Pods declare no controller (use --force to override): default/lonely',
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/ds-x',
      'cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache, default/scratch'
    ])
  })

  it('with the flags: warns instead, skips DaemonSet and mirror pods, deletes the rest', () => {
    const plan = drainPlan(pods, { force: true, ignoreDaemonsets: true, deleteEmptydirData: true })
    assert.deepEqual(plan.errors, [])
    assert.deepEqual(names(plan.evict), ['web-1', 'lonely', 'cache', 'job-done', 'scratch'])
    assert.deepEqual(plan.warnings, [
      'deleting Pods that declare no controller: default/lonely',
      'ignoring DaemonSet-managed Pods: kube-system/ds-x',
      'deleting Pods with local storage: default/cache',
      'deleting Pods with local storage, deleting Pods that declare no controller: default/scratch'
    ])
  })
})

describe('drainNode', () => {
  it('cordons, deletes, waits until each pod is gone or replaced, then says drained', async () => {
    const api = new FakeApi([pod('web-1', { controller: 'ReplicaSet' }), pod('db-0', { controller: 'StatefulSet' }), pod('other', { controller: 'ReplicaSet', node: 'n2' })], 2, new Set(['db-0']))
    await drainNode(api.io(), 'n1', { ...defaults, gracePeriodSeconds: 10 })
    assert.deepEqual(api.out, ['node/n1 cordoned', 'evicting pod default/web-1', 'evicting pod default/db-0', 'pod/web-1 evicted', 'pod/db-0 evicted', 'node/n1 drained'])
    assert.deepEqual(api.err, [])
    assert.ok(api.requests.includes('DELETE /api/v1/namespaces/default/pods/web-1 {"apiVersion":"v1","kind":"DeleteOptions","gracePeriodSeconds":10}'))
    assert.ok(!api.requests.some(r => r.includes('pods/other')))
    assert.equal(api.clock, 2000)
  })

  it('refuses a pod without a controller after cordoning, and deletes nothing', async () => {
    const api = new FakeApi([pod('web-1', { controller: 'ReplicaSet' }), pod('lonely')])
    await assert.rejects(drainNode(api.io(), 'n1', defaults), { message: 'cannot delete Pods declare no controller (use --force to override): default/lonely' })
    assert.deepEqual(api.out, ['node/n1 cordoned'])
    assert.ok(!api.requests.some(r => r.startsWith('DELETE')))
  })

  it('--force deletes it, with kubectl\'s warning', async () => {
    const api = new FakeApi([pod('lonely'), pod('ds', { controller: 'DaemonSet' })])
    await drainNode(api.io(), 'n1', { ...defaults, force: true, ignoreDaemonsets: true })
    assert.deepEqual(api.err, ['Warning: deleting Pods that declare no controller: default/lonely; ignoring DaemonSet-managed Pods: default/ds'])
    assert.deepEqual(api.out, ['node/n1 cordoned', 'evicting pod default/lonely', 'pod/lonely evicted', 'node/n1 drained'])
  })

  it('an empty, already cordoned node drains at once', async () => {
    const api = new FakeApi([])
    api.node.spec = { unschedulable: true }
    await drainNode(api.io(), 'n1', defaults)
    assert.deepEqual(api.out, ['node/n1 already cordoned', 'node/n1 drained'])
  })

  it('gives up after --timeout', async () => {
    const api = new FakeApi([pod('web-1', { controller: 'ReplicaSet' })], 100)
    await assert.rejects(drainNode(api.io(), 'n1', { ...defaults, timeoutMs: 5000, timeoutText: '5s' }), { message: 'drain did not complete within 5s' })
    assert.equal(api.clock, 5000)
  })
})

describe('drain flags', () => {
  it('reads --grace-period, --timeout and the booleans; -1 means the pod\'s own grace period', () => {
    assert.deepEqual(drainOptions({ gracePeriod: '30', timeout: '2m', force: true }), { force: true, ignoreDaemonsets: false, deleteEmptydirData: false, timeoutMs: 120_000, timeoutText: '2m', gracePeriodSeconds: 30 })
    assert.equal(drainOptions({ gracePeriod: -1 }).gracePeriodSeconds, undefined)
    assert.equal(drainOptions({}).timeoutMs, 0)
    assert.throws(() => drainOptions({ gracePeriod: 'soon' }), /invalid argument "soon" for "--grace-period" flag/)
    assert.throws(() => drainOptions({ timeout: '5' }), /invalid argument "5" for "--timeout" flag/)
  })
})
