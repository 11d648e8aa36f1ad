import { randomBytes } from 'node:crypto'
import type { BatchResult, Member, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { reconcileNodes } from '@shoal/core/controllers/nodes.ts'
import { CLUSTER_CONFIG } from '@shoal/core/store/pod-cidrs.ts'
import type { ProxyFailure } from '@shoal/core/controllers/endpoints.ts'
import type { EventIds } from '@shoal/core/scheduler/index.ts'
import type { ReplicatedStore } from '../store/replicated-store.ts'
import type { Logger } from '../log.ts'
import { VERSION } from '../version.ts'
import { coalescing } from '../serial.ts'
import { createDeploymentController } from './deployment-controller.ts'
import { createEndpointsController } from './endpoints-controller.ts'
import { createGarbageCollector } from './gc-controller.ts'
import { createNodeLifecycleController } from './node-lifecycle-controller.ts'
import { createReplicaSetController } from './replicaset-controller.ts'
import { createSchedulerController } from './scheduler-controller.ts'
import { createServiceStatusController } from './service-status-controller.ts'
import { listOf, type KeyedControllerCounters, type StoreController } from './keyed.ts'

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

/** How often the leader ticks, ms: membership changes show in the Nodes within this. */
const TICK_MS = 250
/** After a Node changes in the store, how long the leader waits for more before a tick, ms. */
const KICK_MS = 5

const rfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'
const suffix = (): string => [...randomBytes(5)].map(b => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('')
const eventName = (object: string): string => `${object}.${randomBytes(8).toString('hex')}`

/**
 * The master: on the agent that leads Raft, the controllers and the
 * scheduler run against the local replica and propose what they decide.
 * Each runs on a work queue of keys (keyed.ts), fed by the replica's
 * watches, so a change reconciles only the objects it concerns: the
 * deployment, replicaset, endpoint, garbage collector, node lifecycle,
 * scheduler and service status controllers (`*-controller.ts`). A
 * reconcile reads the state it needs (level-triggered), so a new leader
 * simply carries on from what the store holds.
 *
 * What stays on a tick (TICK_MS) is what gossip knows and the store does
 * not announce: Nodes from membership, and the proxies' failures for the
 * Services' status.
 */
export function createControlPlane (c: ControlPlaneComponents): ControlPlane {
  let timer: ReturnType<typeof setInterval> | undefined
  let kick: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  /** This agent, leading, has applied everything committed before its leadership. */
  let caughtUp = false
  let stopWatch: (() => void) | undefined
  // An Event's uid is the proposer's to choose (ReplicatedStore.write).
  const ids: EventIds = { eventName: pod => `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, uid: () => '' }

  const on = (name: string): boolean => c.controllers === undefined || c.controllers.includes(name)
  /** The controllers on work queues: they act while this agent leads and has caught up. */
  const active = (): boolean => caughtUp && c.leading()
  const write = async (cmd: ObjectCommand): Promise<Result> => await c.store.write(cmd) as Result
  const store = (): ObjectStore => c.store.local
  const deps = { store, write, active, now: rfc3339, log: c.log }

  /** What the alive members' proxies could not listen for, from their heartbeats. */
  const proxyFailures = (): ProxyFailure[] =>
    c.members().filter(m => m.state === 'alive').flatMap(m => (m.proxy?.failures ?? []).map(f => ({ node: m.name, service: f.service, message: f.message })))

  /** A member the node controller keeps a Node for: all but those that left for good (reconcileNodes). */
  const hasMember = (name: string): boolean => c.members().some(m => m.name === name && !(m.state === 'left' && m.leaveReason === 'leave'))

  const serviceStatus = on('service') ? createServiceStatusController({ ...deps, failures: proxyFailures }) : undefined
  const queued: StoreController[] = [
    ...(on('deployment') ? [createDeploymentController({ ...deps, eventName })] : []),
    ...(on('replicaset') ? [createReplicaSetController({ ...deps, podNameSuffix: suffix, eventName })] : []),
    ...(on('endpoint') ? [createEndpointsController(deps)] : []),
    ...(on('garbagecollector') ? [createGarbageCollector(deps)] : []),
    ...(on('nodelifecycle') ? [createNodeLifecycleController({ ...deps, eventName, hasMember, ...(c.podEvictionTimeoutMs !== undefined ? { podEvictionTimeoutMs: c.podEvictionTimeoutMs } : {}) })] : []),
    ...(on('scheduler') ? [createSchedulerController({ ...deps, ids, writeBatch: async cmd => await c.store.write(cmd) as BatchResult })] : []),
    ...(serviceStatus !== undefined ? [serviceStatus] : [])
  ]

  /** Nodes from membership; a refusal (a Node changed meanwhile) is for the next tick to see. */
  const nodes = async (now: string): Promise<void> => {
    const commands = reconcileNodes({
      members: c.members(),
      nodes: listOf(c.store.local, 'nodes'),
      clusterConfig: c.store.local.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name),
      now,
      kubeletVersion: v => `v1.32.0-shoal-${v}`,
      eventName: node => `${node}.${randomBytes(8).toString('hex')}`
    })
    await Promise.all(commands.map(async cmd => {
      const r = await c.store.write(cmd) as Result
      if (!r.ok && r.reason !== 'Conflict' && r.reason !== 'NotFound') c.log.warn({ cmd: cmd.op, result: r }, 'node controller write refused')
    }))
  }

  /**
   * One tick. A new leader first waits until its replica has everything
   * the old one committed, so it never acts on a view older than its
   * predecessor's last writes (that is what keeps a pod from being created
   * twice for one slot); only then do the work-queue controllers start,
   * with every key. Then the controllers follow a replica replaced by a
   * snapshot, the Services whose proxy failures changed are queued, and
   * Nodes follow membership.
   */
  const tick = async (): Promise<void> => {
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
    serviceStatus?.check()
    if (on('nodes')) await nodes(rfc3339())
  }

  const ticks = coalescing(tick, err => { c.log.warn({ err: err.message }, 'control plane tick failed') }, () => !stopped)

  return {
    start () {
      c.log.debug({ version: VERSION }, 'control plane ready (runs while this agent leads)')
      // A Node changed by hand (deleted, relabelled) is put right at once, not at the next tick.
      const w = c.store.local.watch({ resource: 'nodes' }, () => {
        if (kick !== undefined || stopped || !c.leading()) return
        kick = setTimeout(() => {
          kick = undefined
          ticks.request()
        }, KICK_MS)
      })
      if (w.ok) stopWatch = w.stop
      timer = setInterval(ticks.request, TICK_MS)
      for (const q of queued) q.start()
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      clearTimeout(kick)
      stopWatch?.()
      await ticks.idle()
      for (const q of queued) await q.stop()
    },
    counters: () => Object.fromEntries(queued.map(q => [q.name, q.counters()]))
  }
}
