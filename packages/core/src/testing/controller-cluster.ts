import type { KubeObject, ObjectCommand, ObjectInput, Result } from '../store/types.ts'
import { ObjectStore } from '../store/store.ts'
import { applyMergePatch } from '../store/merge-patch.ts'
import { defaultObject } from '../api/defaults.ts'
import { reconcileDeployments } from '../controllers/deployment.ts'
import { reconcileReplicaSets } from '../controllers/replicaset.ts'
import { collectGarbage, GC_KINDS } from '../controllers/gc.ts'
import { reconcileNodeLifecycle } from '../controllers/node-lifecycle.ts'
import { isRecord, podNodeName } from '../controllers/common.ts'

/**
 * A cluster in one process for the controllers' tests: a real ObjectStore,
 * a manual clock, and the control plane's round (deployment, replicaset,
 * gc, node lifecycle) with stand-ins for the scheduler (round-robin over
 * Ready nodes) and the kubelets (bound pods become Running; Ready when the
 * test says so). Every write goes to the store as its own entry, as the
 * control plane proposes them; refusals are kept for the test to inspect.
 */

export interface TestClusterOptions {
  readonly nodes?: readonly string[]
  /** A bound pod becomes Ready when its kubelet reports (default true). */
  readonly autoReady?: boolean
  readonly podEvictionTimeoutSeconds?: number
}

const T0 = Date.parse('2026-01-01T00:00:00Z')

export class TestCluster {
  readonly store = new ObjectStore()
  nowMs = T0
  autoReady: boolean
  readonly refused: Array<{ command: ObjectCommand, result: Result }> = []
  readonly podEvictionTimeoutSeconds: number | undefined
  #uid = 0
  #suffix = 0
  #event = 0
  #rr = 0

  constructor (options: TestClusterOptions = {}) {
    this.autoReady = options.autoReady ?? true
    this.podEvictionTimeoutSeconds = options.podEvictionTimeoutSeconds
    for (const name of options.nodes ?? []) this.setNodeReady(name, 'True')
  }

  get now (): string { return new Date(this.nowMs).toISOString().replace('.000Z', 'Z') }

  advance (seconds: number): void { this.nowMs += seconds * 1000 }

  list (resource: string): KubeObject[] {
    const r = this.store.list(resource, {})
    if (!r.ok) throw new Error(r.message)
    return [...r.items]
  }

  get (resource: string, name: string, namespace = 'default'): KubeObject | undefined {
    return this.store.get(resource, namespace, name)
  }

  /** Apply commands one entry each; a create gets a fresh uid. Returns the results. */
  apply (commands: readonly ObjectCommand[]): Result[] {
    return commands.map(c => {
      const command = c.op === 'create' ? { ...c, uid: `uid-${++this.#uid}` } : c
      const r = this.store.apply(this.store.appliedIndex + 1, command)
      if (!r.ok) this.refused.push({ command, result: r })
      return r
    })
  }

  /** What a user's create or update through the api would store (defaults applied). */
  put (resource: string, object: ObjectInput): KubeObject {
    const obj = defaultObject(resource, object)
    const current = this.get(resource, obj.metadata.name, obj.metadata.namespace ?? 'default')
    const [r] = this.apply([current === undefined
      ? { op: 'create', resource, object: obj, uid: '', now: this.now }
      : { op: 'update', resource, object: obj, now: this.now, scope: 'main' }])
    if (r === undefined || !r.ok) throw new Error(`put ${resource}: ${JSON.stringify(r)}`)
    return r.object
  }

  /** A merge patch as a user sends it: the api admits the result like an update, defaults and all. */
  patch (resource: string, name: string, patch: unknown, namespace = 'default'): KubeObject {
    const current = this.get(resource, name, namespace)
    if (current === undefined) throw new Error(`patch ${resource}/${name}: not found`)
    const object = defaultObject(resource, applyMergePatch(current, patch)) as ObjectInput
    const [r] = this.apply([{ op: 'update', resource, object, now: this.now, scope: 'main' }])
    if (r === undefined || !r.ok) throw new Error(`patch ${resource}/${name}: ${JSON.stringify(r)}`)
    return r.object
  }

  delete (resource: string, name: string, namespace = 'default'): void {
    this.apply([{ op: 'delete', resource, namespace, name }])
  }

  setNodeReady (name: string, status: 'True' | 'False' | 'Unknown'): void {
    const current = this.get('nodes', name, '')
    const conditions = [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', message: '', lastHeartbeatTime: this.now, lastTransitionTime: this.now }]
    if (current === undefined) {
      this.apply([{ op: 'create', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { conditions } }, uid: '', now: this.now }])
    } else {
      this.apply([{ op: 'update', resource: 'nodes', object: { ...current, status: { conditions } }, now: this.now, scope: 'status' }])
    }
  }

  eventName = (object: string): string => `${object}.${(++this.#event).toString(16).padStart(8, '0')}`
  podNameSuffix = (): string => (++this.#suffix).toString(36).padStart(5, 'x')

  runDeployments (): ObjectCommand[] {
    const commands = reconcileDeployments({ deployments: this.list('deployments'), replicaSets: this.list('replicasets'), pods: this.list('pods'), now: this.now, eventName: this.eventName })
    this.apply(commands)
    return commands
  }

  runReplicaSets (): ObjectCommand[] {
    const commands = reconcileReplicaSets({ replicaSets: this.list('replicasets'), pods: this.list('pods'), now: this.now, podNameSuffix: this.podNameSuffix, eventName: this.eventName })
    this.apply(commands)
    return commands
  }

  runGc (): ObjectCommand[] {
    const commands = collectGarbage({ resources: GC_KINDS.map(k => ({ ...k, items: this.list(k.resource) })), now: this.now })
    this.apply(commands)
    return commands
  }

  runNodeLifecycle (): ObjectCommand[] {
    const commands = reconcileNodeLifecycle({
      nodes: this.list('nodes'),
      pods: this.list('pods'),
      now: this.now,
      eventName: this.eventName,
      ...(this.podEvictionTimeoutSeconds !== undefined ? { podEvictionTimeoutSeconds: this.podEvictionTimeoutSeconds } : {})
    })
    this.apply(commands)
    return commands
  }

  /** The scheduler stand-in: unbound pods go round-robin to Ready nodes, in name order. */
  schedule (): void {
    const ready = this.list('nodes').filter(n => ((n.status as { conditions?: Array<{ type: string, status: string }> } | undefined)?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')).map(n => n.metadata.name)
    if (ready.length === 0) return
    for (const pod of this.list('pods')) {
      if (podNodeName(pod) !== '') continue
      const node = ready[this.#rr++ % ready.length] as string
      this.apply([{ op: 'patch', resource: 'pods', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, patch: { spec: { nodeName: node } }, now: this.now }])
    }
  }

  /** The kubelets' stand-in: a pod bound to a Ready node is Running, and Ready if `autoReady` or `ready(pod)`. */
  kubelets (ready: (pod: KubeObject) => boolean = () => this.autoReady): void {
    const readyNodes = new Set(this.list('nodes').filter(n => ((n.status as { conditions?: Array<{ type: string, status: string }> } | undefined)?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')).map(n => n.metadata.name))
    for (const pod of this.list('pods')) {
      if (!readyNodes.has(podNodeName(pod))) continue
      const status = isRecord(pod.status) ? pod.status : {}
      const wasReady = ((status.conditions ?? []) as Array<{ type: string, status: string }>).some(c => c.type === 'Ready' && c.status === 'True')
      const isReady = wasReady || ready(pod)
      if (status.phase === 'Running' && wasReady === isReady) continue
      this.setPodStatus(pod, isReady)
    }
  }

  setPodStatus (pod: KubeObject, ready: boolean, extra: Record<string, unknown> = {}): void {
    const status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: this.now }], containerStatuses: [{ name: 'app', restartCount: 0, ready }], ...extra }
    this.apply([{ op: 'update', resource: 'pods', object: { ...pod, status }, now: this.now, scope: 'status' }])
  }

  /** One control-plane round, then the scheduler and the kubelets; the clock moves by `seconds`. */
  round (seconds = 1): void {
    this.runDeployments()
    this.runReplicaSets()
    this.runGc()
    this.runNodeLifecycle()
    this.schedule()
    this.kubelets()
    this.advance(seconds)
  }
}
