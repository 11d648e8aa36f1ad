import { randomBytes, randomUUID } from 'node:crypto'
import type { BatchResult, KubeObject, Member, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { reconcileNodes } from '@shoal/core/controllers/nodes.ts'
import { CLUSTER_CONFIG } from '@shoal/core/store/pod-cidrs.ts'
import { reconcileNodeLifecycle } from '@shoal/core/controllers/node-lifecycle.ts'
import { collectGarbage, GC_KINDS } from '@shoal/core/controllers/gc.ts'
import { reconcileServiceStatus, type ProxyFailure } from '@shoal/core/controllers/endpoints.ts'
import { batchOf, bindingBatches, bindingCommands, schedule, splitBatchResult, unschedulableCommands, type BindingPlan, type EventIds } from '@shoal/core/scheduler/index.ts'
import type { ReplicatedStore } from '../store/replicated-store.ts'
import type { Logger } from '../log.ts'
import { VERSION } from '../version.ts'
import { coalescing } from '../serial.ts'
import { createDeploymentController } from './deployment-controller.ts'
import { createEndpointsController } from './endpoints-controller.ts'
import { createReplicaSetController } from './replicaset-controller.ts'
import { withUid, type KeyedControllerCounters } from './keyed.ts'

export interface ControlPlaneComponents {
  readonly store: ReplicatedStore
  readonly members: () => Member[]
  /** True while this agent leads Raft: only the leader runs the controllers. */
  readonly leading: () => boolean
  readonly log: Logger
  /** How long a node may be not Ready before its pods are deleted (and replaced elsewhere), ms. */
  readonly podEvictionTimeoutMs?: number
  /** The loops to run (default all); see config.ts CONTROLLERS. */
  readonly controllers?: readonly string[]
}

export interface ControlPlane {
  start: () => void
  stop: () => Promise<void>
  /** The counters of the controllers that run on work queues, by name. */
  counters: () => Record<string, KeyedControllerCounters>
}

/** How often the leader reconciles when nothing prompts it, ms: membership changes show in the store within this. */
const RECONCILE_MS = 250
/** After a change in the store, how long the leader waits for more before a round, ms: changes arriving together are handled together. */
const KICK_MS = 5
/** The resources whose changes start a round at once. */
const WATCHED = ['pods', 'nodes', 'replicasets', 'deployments', 'services'] as const

const rfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'
const suffix = (): string => [...randomBytes(5)].map(b => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('')
const eventName = (object: string): string => `${object}.${randomBytes(8).toString('hex')}`

/**
 * The master's loops: on the agent that leads Raft, the controllers and the
 * scheduler run against the local replica and propose what they decide. A
 * round looks at the whole state (level-triggered), so a new leader simply
 * carries on from what the store holds; it runs every RECONCILE_MS, and at
 * once when the store changes. Rounds never overlap, and each waits for its
 * writes to be applied here, so the next round sees them: nothing is
 * decided twice from a stale view.
 *
 * The deployment, replicaset and endpoint controllers have moved off the
 * rounds onto work queues of keys (deployment-controller.ts,
 * replicaset-controller.ts, endpoints-controller.ts, keyed.ts): a change
 * reconciles only the objects it concerns. The others are to follow them.
 */
export function createControlPlane (c: ControlPlaneComponents): ControlPlane {
  let timer: ReturnType<typeof setInterval> | undefined
  let kick: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  /** This agent, leading, has applied everything committed before its leadership. */
  let caughtUp = false
  const watches: Array<() => void> = []
  const ids: EventIds = { eventName: pod => `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, uid: () => randomUUID() }

  const on = (name: string): boolean => c.controllers === undefined || c.controllers.includes(name)
  /** The controllers on work queues: they act while this agent leads and has caught up. */
  const active = (): boolean => caughtUp && c.leading()
  const write = async (cmd: ObjectCommand): Promise<Result> => await c.store.write(cmd) as Result
  const store = (): ObjectStore => c.store.local
  const queued = [
    ...(on('deployment') ? [createDeploymentController({ store, write, active, now: rfc3339, eventName, log: c.log })] : []),
    ...(on('replicaset') ? [createReplicaSetController({ store, write, active, now: rfc3339, podNameSuffix: suffix, eventName, log: c.log })] : []),
    ...(on('endpoint') ? [createEndpointsController({ store, write, active, now: rfc3339, log: c.log })] : [])
  ]

  const list = (resource: string): readonly KubeObject[] => {
    const r = c.store.local.list(resource, {})
    return r.ok ? r.items : []
  }

  /** Write commands one by one (in parallel); a refusal is for the next round to see, not an error. */
  const writeEach = async (what: string, commands: readonly ObjectCommand[]): Promise<void> => {
    await Promise.all(commands.map(async cmd => {
      const r = await c.store.write(withUid(cmd)) as Result
      if (!r.ok && r.reason !== 'Conflict' && r.reason !== 'NotFound') c.log.debug({ what, cmd: cmd.op, result: r }, 'controller write refused')
    }))
  }

  const nodes = async (now: string): Promise<void> => {
    const commands = reconcileNodes({
      members: c.members(),
      nodes: list('nodes'),
      clusterConfig: c.store.local.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name),
      now,
      kubeletVersion: v => `v1.32.0-shoal-${v}`,
      eventName: node => `${node}.${randomBytes(8).toString('hex')}`
    })
    await writeEach('nodes', commands)
  }

  /** Bind pending pods: batches of bindings, each tried again without the pods that failed in it. */
  const scheduler = async (now: string): Promise<void> => {
    const pods = list('pods')
    const pending = pods.filter(p => (p.spec as { nodeName?: string } | undefined)?.nodeName === undefined)
    if (pending.length === 0) return
    const bound = pods.filter(p => (p.spec as { nodeName?: string } | undefined)?.nodeName !== undefined)
    const result = schedule({ pending, nodes: list('nodes'), bound, now })
    for (const batch of bindingBatches(bindingCommands(result, now, ids))) {
      for (let todo: readonly BindingPlan[] = batch.plans; todo.length > 0;) {
        const r = await c.store.write(batchOf(todo)) as BatchResult
        todo = splitBatchResult(todo, r).retry
      }
    }
    await writeEach('scheduler', result.unschedulable.flatMap(u => unschedulableCommands(u, now, ids)))
  }

  /**
   * One round, each controller reading what the ones before it wrote: Nodes
   * from membership; pods of nodes gone NotReady evicted; orphans collected
   * (Deployments, ReplicaSets and their pods come from the work queues);
   * then the scheduler binds what is pending; last, Services' status
   * follows the nodes. A new leader first
   * waits until its replica has everything the old one committed, so it
   * never acts on a view older than its predecessor's last round (that is
   * what keeps a pod from being created twice for one slot); only then do
   * the work-queue controllers start, with every key.
   */
  const reconcile = async (): Promise<void> => {
    if (!c.leading()) {
      caughtUp = false
      return
    }
    if (!caughtUp) {
      await c.store.barrier()
      caughtUp = true
      for (const q of queued) q.resync()
    }
    for (const q of queued) q.follow()
    const now = rfc3339()
    if (on('nodes')) await nodes(now)
    if (on('nodelifecycle')) {
      await writeEach('node-lifecycle', reconcileNodeLifecycle({
      nodes: list('nodes'),
      pods: list('pods'),
      now,
      eventName,
        ...(c.podEvictionTimeoutMs !== undefined ? { podEvictionTimeoutSeconds: c.podEvictionTimeoutMs / 1000 } : {})
      }))
    }
    if (on('garbagecollector')) await writeEach('gc', collectGarbage({ resources: GC_KINDS.map(k => ({ kind: k.kind, resource: k.resource, items: list(k.resource) })), now }))
    if (on('scheduler')) await scheduler(now)
    if (on('service')) await writeEach('services', reconcileServiceStatus({ services: list('services'), nodes: list('nodes'), failures: proxyFailures(), now }))
  }

  /** What the alive members' proxies could not listen for, from their heartbeats. */
  const proxyFailures = (): ProxyFailure[] =>
    c.members().filter(m => m.state === 'alive').flatMap(m => (m.proxy?.failures ?? []).map(f => ({ node: m.name, service: f.service, message: f.message })))

  const rounds = coalescing(reconcile, err => { c.log.debug({ err: err.message }, 'control plane round failed') }, () => !stopped)
  const run = rounds.request

  /** A change in the store: a round soon, if this agent leads. */
  const onChange = (): void => {
    if (kick !== undefined || stopped || !c.leading()) return
    kick = setTimeout(() => {
      kick = undefined
      run()
    }, KICK_MS)
  }

  return {
    start () {
      c.log.debug({ version: VERSION }, 'control plane ready (runs while this agent leads)')
      for (const resource of WATCHED) {
        const w = c.store.local.watch({ resource }, onChange)
        if (w.ok) watches.push(w.stop)
      }
      timer = setInterval(run, RECONCILE_MS)
      for (const q of queued) q.start()
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      clearTimeout(kick)
      for (const stop of watches) stop()
      await rounds.idle()
      for (const q of queued) await q.stop()
    },
    counters: () => Object.fromEntries(queued.map(q => [q.name, q.counters()]))
  }
}
