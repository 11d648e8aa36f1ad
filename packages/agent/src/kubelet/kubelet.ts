import type { NodeCapacity } from '@shoal/core/kubelet/admit.ts'
import { isJsonEqual, type KubeObject, type ObjectStore } from '@shoal/core'
import type { RuntimeHealth } from '@shoal/core/members/types.ts'
import { podSpecOf, type BackoffConfig, type ObservedContainer } from '@shoal/core/kubelet/index.ts'
import type { ContainerRuntime } from './runtime.ts'
import type { PodIO } from './pod-io.ts'
import type { PodStatusReport } from './status-reporter.ts'
import { createProber } from './prober.ts'
import { createEventRecorder, type EventWriter } from './events.ts'
import { createRuntimeHealthMonitor } from './runtime-health.ts'
import { createPodWorker, keyOf, type PodState } from './pod-worker.ts'
import { createCleanup } from './cleanup.ts'
import { createLocalPodIO } from './pod-io-local.ts'
import type { Logger } from '../log.ts'
import type { FetchOutcome, FetchWatcher } from '../images/images.ts'

/**
 * The kubelet of this agent: it makes the container runtime match the pods
 * the store binds to this node, and reports what it sees.
 *
 * - Pods come from the local replica (a watch on `spec.nodeName=NODE`, and a
 *   relist every resync), so the kubelet works from its own copy of the
 *   desired state, like every other reader.
 * - Each pod is synced by one worker at a time: plan (core planPod), carry
 *   out the plan's actions in order, plan again until there is nothing to
 *   do; then compute the status (core podStatus) and report it when it
 *   changed. A runtime event (a container died), a probe verdict, a backoff
 *   ending or the periodic resync starts another sync.
 * - Containers of pods no longer bound here (deleted, bound elsewhere) are
 *   stopped with the pod's grace period and removed, with the pod's
 *   emptyDir volumes; on `stop({ removeContainers: true })` (the agent left
 *   the cluster) every container of this node goes.
 * - The kubelet keeps nothing on disk: after a restart it finds its
 *   containers by their labels and adopts them.
 *
 * This file is the composition: it feeds pods from the store and events
 * from the runtime to the parts beside it, which share the pods map:
 * pod-worker.ts (each pod's sync), runtime-health.ts (is the engine up),
 * cleanup.ts (containers no pod here owns), pod-io-local.ts (logs, exec),
 * with prober.ts (probes) and events.ts (Events).
 */

export interface KubeletComponents {
  /** This node's name: `spec.nodeName` of its pods, and the runtime's node label. */
  readonly node: string
  /** The node's advertised address: status.hostIP, and where ports are published unless `publishIP` is given. */
  readonly hostIP: string
  /** Where the engine publishes pods' ports (--publish-address), given only when not on hostIP: the engine does not run beside the agent. */
  readonly publishIP?: string
  /** Where emptyDir volumes live: DIR/UID/volumes/NAME. */
  readonly podsDir: string
  /** What admission counts against: CPU, memory and the pod limit (--max-pods). */
  readonly capacity: NodeCapacity
  readonly store: () => ObjectStore
  readonly writeEvent: EventWriter
  readonly runtime: ContainerRuntime
  /**
   * The cluster's own copies of images (agent/images): an image this engine
   * lacks comes from a node that holds it before any registry is asked
   * (IfNotPresent), or when the registry fails (Always). Without it, only
   * the registry.
   */
  readonly images?: { fetch: (image: string, watcher?: FetchWatcher) => Promise<FetchOutcome> }
  /** Send changed pod statuses towards the leader. */
  readonly report: (changes: PodStatusReport[]) => void
  /**
   * Send every pod's status (every FULL_REPORT_EVERY resyncs): repairs what
   * gossip lost, whatever the replica shows. The resyncs between send only
   * the pods whose status in the replica is not the kubelet's (Kubernetes'
   * status manager: needsUpdate), so an idle node sends nothing.
   */
  readonly reportFull?: (all: PodStatusReport[]) => void
  readonly log: Logger
  readonly backoff?: BackoffConfig
  /**
   * Resolves once the local replica has caught up with the cluster. A pod
   * gets a new sandbox only then: an agent that restarts reads a replica
   * from before it stopped, and must not start pods deleted meanwhile.
   * Running containers are adopted and reported without waiting. `signal`
   * aborts when the kubelet stops: give up waiting then.
   */
  readonly current?: (signal: AbortSignal) => Promise<void>
  /** Relist period, ms (default 5 s): how soon leftovers go and a dead engine is noticed. */
  readonly resyncMs?: number
  readonly now?: () => number
}

/** Every this many resyncs (30 s at the default 5 s), the kubelet reports every pod's status, changed or not. */
const FULL_REPORT_EVERY = 6

export interface Kubelet {
  start: () => Promise<void>
  /** Stop syncing. `removeContainers`: also stop and remove every container of this node (the agent left). */
  stop: (opts?: { removeContainers?: boolean }) => Promise<void>
  /** The runtime as last seen, for the heartbeat (the Node's Ready condition). */
  health: () => RuntimeHealth
  /** Every pod's last status, for the periodic full report. */
  statuses: () => PodStatusReport[]
  /** Logs and exec of this node's pods, for the API here and on other agents (over libp2p). */
  readonly podIO: PodIO
}

export function createKubelet (c: KubeletComponents): Kubelet {
  const now = c.now ?? Date.now
  const log = c.log
  const pods = new Map<string, PodState>()
  /** The grace period of pods that are gone, for the cleanup of their containers. */
  const graceOf = new Map<string, number>()
  /** Which pod each container id belongs to, for runtime events. */
  const owners = new Map<string, string>()
  const stopping = new AbortController()
  const stopped = (): boolean => stopping.signal.aborted
  let watch: { stop: () => void } | undefined
  let resyncTimer: ReturnType<typeof setInterval> | undefined
  let unsubscribe: (() => void) | undefined
  let housekeeping: Promise<void> | undefined
  let resyncs = 0
  const events = createEventRecorder({ node: c.node, write: c.writeEvent, now, log })

  /** A pod's containers as the runtime has them now; their ids are noted as the pod's, for runtime events. */
  const observedOf = async (uid: string): Promise<ObservedContainer[]> => {
    const mine = (await c.runtime.list(uid)).filter(o => o.podUid === uid)
    for (const o of mine) owners.set(o.id, uid)
    return mine
  }

  // When the engine answers again, relist everything.
  const runtimeHealth = createRuntimeHealthMonitor({ runtime: c.runtime, log, signal: stopping.signal, onBack: () => { resync() } })
  const runtimeDown = runtimeHealth.down

  const prober = createProber({
    runtime: c.runtime,
    podNetworkLocal: c.publishIP === undefined,
    now,
    log,
    // A verdict changed (ready, or a restart is due): sync the pod at once.
    onVerdict: (uid) => { worker.schedule(uid) },
    memory: (uid) => pods.get(uid)?.memory,
    setMemory: (uid, update) => {
      const s = pods.get(uid)
      if (s !== undefined) s.memory = update(s.memory)
    },
    onUnhealthy: (uid, event) => {
      const s = pods.get(uid)
      if (s !== undefined) events.record(s.pod, event)
    }
  })

  const worker = createPodWorker({
    pods,
    hostIP: c.hostIP,
    publishIP: c.publishIP,
    podsDir: c.podsDir,
    capacity: c.capacity,
    runtime: c.runtime,
    images: c.images,
    report: c.report,
    backoff: c.backoff,
    current: c.current,
    events,
    prober,
    observedOf,
    ready: () => runtimeHealth.health().ready,
    runtimeDown,
    log,
    now,
    signal: stopping.signal
  })

  const cleanup = createCleanup({ runtime: c.runtime, podsDir: c.podsDir, pods, graceOf, owners, observedOf, prober, runtimeDown, log })

  const upsert = (pod: KubeObject): void => {
    graceOf.set(keyOf(pod), podSpecOf(pod).terminationGracePeriodSeconds)
    worker.update(pod)
  }

  const forget = (uid: string): void => {
    worker.remove(uid)
    if (!stopped()) cleanup.removed(uid)
  }

  /** Relist pods and containers: new pods sync, gone ones are cleaned up, containers of unknown pods removed. */
  const resync = (): void => {
    if (stopped() || housekeeping !== undefined) return
    housekeeping = (async () => {
      const listed = c.store().list('pods', { fieldSelector: `spec.nodeName=${c.node}` })
      if (!listed.ok) return
      const current = new Map(listed.items.map(p => [keyOf(p), p]))
      for (const uid of [...pods.keys()]) if (!current.has(uid)) forget(uid)
      for (const p of current.values()) upsert(p)
      const observed = await c.runtime.list()
      if (runtimeHealth.health().ready === false) runtimeHealth.set({ ready: true })
      const all = statuses()
      if (++resyncs % FULL_REPORT_EVERY === 1) c.reportFull?.(all)
      else {
        const stale = all.filter(r => !isJsonEqual(c.store().get('pods', r.namespace, r.name)?.status, r.status))
        if (stale.length > 0) c.report(stale)
      }
      cleanup.leftovers(observed)
    })().catch((err: Error) => {
      if (!runtimeDown(err)) log.warn({ err: err.message }, 'kubelet resync failed')
    }).finally(() => { housekeeping = undefined })
  }

  /** A runtime event about container `id` (it started, died...): sync its pod, or relist when no pod here is known to own it. */
  const onContainerChange = (id: string): void => {
    const uid = owners.get(id)
    if (uid !== undefined) {
      worker.schedule(uid)
      return
    }
    c.runtime.inspect(id).then(o => {
      if (o === undefined) return
      owners.set(id, o.podUid)
      if (pods.has(o.podUid)) worker.schedule(o.podUid)
      else resync()
    }, (err: Error) => { runtimeDown(err) })
  }

  const statuses = (): PodStatusReport[] =>
    [...pods.values()].filter(s => s.lastStatus !== undefined || s.rejected !== undefined)
      .map(s => ({ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid: keyOf(s.pod), status: s.rejected ?? s.lastStatus }))

  return {
    podIO: createLocalPodIO({ node: c.node, pods, runtime: c.runtime, observedOf }),
    health: runtimeHealth.health,
    statuses,
    async start () {
      try {
        await c.runtime.ping()
        runtimeHealth.learnEngine()
      } catch (err) {
        if (!runtimeDown(err)) throw err
      }
      const store = c.store()
      const listed = store.list('pods', { fieldSelector: `spec.nodeName=${c.node}` })
      if (!listed.ok) throw new Error(listed.message)
      const w = store.watch({ resource: 'pods', fieldSelector: `spec.nodeName=${c.node}`, fromResourceVersion: listed.resourceVersion }, e => {
        if (e.type === 'DELETED') {
          graceOf.set(keyOf(e.object), podSpecOf(e.object).terminationGracePeriodSeconds)
          forget(keyOf(e.object))
        } else {
          upsert(e.object)
        }
      })
      if (!w.ok) throw new Error(w.message)
      watch = w
      unsubscribe = c.runtime.onChange(onContainerChange)
      for (const p of listed.items) upsert(p)
      resync()
      resyncTimer = setInterval(resync, c.resyncMs ?? 5_000)
      log.info({ node: c.node, pods: listed.items.length }, 'kubelet started')
    },
    async stop (opts = {}) {
      stopping.abort()
      watch?.stop()
      unsubscribe?.()
      clearInterval(resyncTimer)
      runtimeHealth.stop()
      prober.stop()
      await worker.stop()
      await housekeeping
      await cleanup.idle()
      if (opts.removeContainers === true) await cleanup.removeAll()
      await events.flush()
      await c.runtime.close().catch(() => {})
    }
  }
}
