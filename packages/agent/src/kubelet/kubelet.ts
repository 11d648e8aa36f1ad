import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { ShoalError, type KubeObject, type ObjectStore } from '@shoal/core'
import type { RuntimeHealth } from '@shoal/core/members/types.ts'
import {
  admitPod, clusterCopyEvent, createdEvent, pullingFromNodeEvent, imageFailedEvents, pulledFromNodeEvent, newestFirst, orphans, planPod, podSpecOf, podStatus, pulledEvent, pullingEvent, startedEvent, startFailedEvent,
  type BackoffConfig, type ImageProblem, type KubeletEvent, type ObservedContainer, type PodAction, type PodMemory, type PodStatus
} from '@shoal/core/kubelet/index.ts'
import { ContainerError, RuntimeDownError, type ContainerRuntime } from './runtime.ts'
import { containerNotRunning, containerNotValid, containerWaiting, noPreviousContainer, podNotRunningHere, type PodIO } from './pod-io.ts'
import type { PodStatusReport } from './status-reporter.ts'
import { coalescing, type Coalescing } from '../serial.ts'
import { createProber, type Prober } from './prober.ts'
import { createEventRecorder, type EventRecorder, type EventWriter } from './events.ts'
import type { Logger } from '../log.ts'
import type { FetchOutcome, FetchWatcher } from '../images/images.ts'
import { parseImageRef } from '@shoal/core/images/ref.ts'

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
  readonly capacity: { readonly cpuMilli: number, readonly memoryBytes: number }
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
  /** Send every pod's status (at each resync): repairs what gossip lost, and tells a new leader. */
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

/** What the kubelet keeps per pod between syncs. */
interface PodState {
  pod: KubeObject
  memory: PodMemory
  lastStatus?: PodStatus | undefined
  /** Set when admission refused the pod: it never runs here; this is the Failed status it reported. */
  rejected?: unknown
  /** Its syncs, one at a time (made at the first schedule). */
  syncs?: Coalescing
  wake?: ReturnType<typeof setTimeout> | undefined
  wakeAt?: number | undefined
  /** Images made present while its sandbox starts, by container: the ensureImage action that follows takes the result. */
  early?: Map<string, EarlyImage>
}

interface EarlyImage {
  readonly image: string
  readonly policy: 'Always' | 'IfNotPresent' | 'Never'
  readonly result: Promise<ImageProblem | undefined>
}

/** Rounds of plan → act in one sync before it yields (a plan that keeps failing is retried later). */
const MAX_ROUNDS = 6
/** How soon a sync whose actions failed is tried again, ms. */
const RETRY_MS = 1000
/** The grace period for containers of a pod whose spec is unknown: Kubernetes' minimumGracePeriodInSeconds. */
const UNKNOWN_POD_GRACE_SECONDS = 2
/** How often a down runtime is pinged, ms. */
const PING_MS = 2000
/** How often a transfer of an image from a node says how far it got (a Pulling event), ms. */
const PULL_PROGRESS_MS = 2000

const keyOf = (pod: KubeObject): string => pod.metadata.uid

export function createKubelet (c: KubeletComponents): Kubelet {
  const now = c.now ?? Date.now
  const log = c.log
  const pods = new Map<string, PodState>()
  /** The grace period of pods that are gone, for the cleanup of their containers. */
  const graceOf = new Map<string, number>()
  let health: RuntimeHealth = { ready: true }
  let stopped = false
  const stopping = new AbortController()
  let watch: { stop: () => void } | undefined
  let resyncTimer: ReturnType<typeof setInterval> | undefined
  let pingTimer: ReturnType<typeof setTimeout> | undefined
  let unsubscribe: (() => void) | undefined
  let housekeeping: Promise<void> | undefined
  const cleanups = new Map<string, Promise<void>>()
  const events: EventRecorder = createEventRecorder({ node: c.node, write: c.writeEvent, now, log })
  const volumeDir = (uid: string, name: string): string => join(c.podsDir, uid, 'volumes', name)

  const prober: Prober = createProber({
    runtime: c.runtime,
    podNetworkLocal: c.publishIP === undefined,
    now,
    log,
    // A verdict changed (ready, or a restart is due): sync the pod at once.
    onVerdict: (uid) => { schedule(uid) },
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

  const setHealth = (next: RuntimeHealth): void => {
    if (next.ready !== health.ready) log.warn({ ready: next.ready, message: next.message }, next.ready ? 'container runtime is back' : 'container runtime is down')
    health = health.engine !== undefined ? { ...next, engine: health.engine } : next
  }

  /** The engine's ID, asked once it answers, for the heartbeat (agents sharing an engine reach each other's pod IPs). */
  const learnEngine = (): void => {
    if (health.engine !== undefined || stopped) return
    c.runtime.engineID().then(id => {
      if (id !== '') health = { ...health, engine: id }
    }, (err: Error) => { log.debug({ err: err.message }, 'could not ask the engine its ID') })
  }

  /** A runtime call failed because the engine is down: say so, and watch for its return. */
  const runtimeDown = (err: unknown): boolean => {
    if (!(err instanceof RuntimeDownError)) return false
    setHealth({ ready: false, message: err.message })
    if (pingTimer === undefined && !stopped) {
      const ping = (): void => {
        pingTimer = setTimeout(() => {
          c.runtime.ping().then(() => {
            pingTimer = undefined
            setHealth({ ready: true })
            learnEngine()
            resync()
          }, (e: Error) => {
            setHealth({ ready: false, message: e.message })
            if (!stopped) ping()
            else pingTimer = undefined
          })
        }, PING_MS)
      }
      ping()
    }
    return true
  }

  const schedule = (uid: string): void => {
    const s = pods.get(uid)
    if (s === undefined || stopped) return
    s.syncs ??= coalescing(async () => { await sync(s) }, err => {
      if (!runtimeDown(err)) log.warn({ pod: `${s.pod.metadata.namespace}/${s.pod.metadata.name}`, err: err.message }, 'pod sync failed')
      wakeAt(s, now() + RETRY_MS)
    }, () => !stopped && pods.get(uid) === s)
    s.syncs.request()
  }

  const wakeAt = (s: PodState, at: number): void => {
    if (stopped) return
    if (s.wake !== undefined && s.wakeAt !== undefined && s.wakeAt <= at) return
    clearTimeout(s.wake)
    s.wakeAt = at
    s.wake = setTimeout(() => {
      s.wake = undefined
      s.wakeAt = undefined
      schedule(keyOf(s.pod))
    }, Math.max(0, at - now()))
  }

  /** Which pod each container id belongs to, for runtime events. */
  const owners = new Map<string, string>()
  const observedOf = async (uid: string): Promise<ObservedContainer[]> => {
    const mine = (await c.runtime.list(uid)).filter(o => o.podUid === uid)
    for (const o of mine) owners.set(o.id, uid)
    return mine
  }

  /** Admission, once per pod: a pod that cannot fit this node fails here, as Kubernetes' kubelet rejects it. */
  const admit = (s: PodState): boolean => {
    if (s.rejected !== undefined) return false
    if (s.lastStatus !== undefined || (s.pod.status as { phase?: string } | undefined)?.phase !== 'Pending') return true
    const admitted = [...pods.values()].filter(o => o !== s && o.rejected === undefined && o.lastStatus !== undefined && o.lastStatus.phase !== 'Succeeded' && o.lastStatus.phase !== 'Failed').map(o => o.pod)
    const verdict = admitPod(s.pod, c.capacity, admitted)
    if (verdict.admitted) return true
    s.rejected = verdict.status
    events.record(s.pod, { type: 'Warning', reason: verdict.reason as KubeletEvent['reason'], message: verdict.message })
    c.report([{ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid: s.pod.metadata.uid, status: verdict.status }])
    return false
  }

  const sync = async (s: PodState): Promise<void> => {
    if (!health.ready) return
    if (!admit(s)) return
    const uid = keyOf(s.pod)
    const volumePaths = (name: string): string | undefined => podSpecOf(s.pod).volumes.some(v => v.name === name && v.emptyDir !== undefined) ? volumeDir(uid, name) : undefined
    let observed: ObservedContainer[] = []
    let retry = false
    for (let round = 0; round < MAX_ROUNDS && !stopped; round++) {
      observed = await observedOf(uid)
      if (pods.get(uid) !== s) return
      const plan = planPod({ pod: s.pod, observed, now: now(), hostIP: c.hostIP, ...(c.publishIP !== undefined ? { publishIP: c.publishIP } : {}), memory: s.memory, volumePaths, ...(c.backoff !== undefined ? { backoff: c.backoff } : {}) })
      s.memory = plan.memory
      for (const e of plan.events) events.record(s.pod, e)
      if (plan.nextSyncAt !== undefined) wakeAt(s, plan.nextSyncAt)
      if (plan.actions.length === 0) break
      const ok = await act(s, plan.actions)
      if (!ok) {
        retry = true
        observed = await observedOf(uid)
        break
      }
      if (round === MAX_ROUNDS - 1) retry = true
    }
    if (retry) wakeAt(s, now() + RETRY_MS)
    if (pods.get(uid) !== s || stopped) return
    const status = podStatus({ pod: s.pod, observed, now: now(), hostIP: c.hostIP, memory: s.memory, volumePaths, previousStatus: s.lastStatus ?? s.pod.status, ...(c.backoff !== undefined ? { backoff: c.backoff } : {}) })
    prober.track(uid, s.pod, observed)
    if (!isDeepStrictEqual(status, s.lastStatus)) {
      s.lastStatus = status
      c.report([{ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid, status }])
    }
  }

  /** Carry out a plan's actions in order; false at the first that failed (recorded in the pod's memory). */
  const act = async (s: PodState, actions: readonly PodAction[]): Promise<boolean> => {
    const uid = keyOf(s.pod)
    for (const a of actions) {
      if (stopped || pods.get(uid) !== s) return false
      switch (a.kind) {
        case 'runSandbox':
          await c.current?.(stopping.signal)
          if (stopped || pods.get(uid) !== s) return false
          await prepareVolumes(s)
          ensureImagesEarly(s)
          try {
            await c.runtime.runSandbox(a.config)
          } catch (err) {
            if (err instanceof RuntimeDownError) throw err
            // A host port taken, a bad hostname: the pod stays ContainerCreating and says why; retried later.
            events.record(s.pod, { type: 'Warning', reason: 'FailedCreatePodSandBox', message: `Failed to create pod sandbox: ${(err as Error).message}` })
            return false
          }
          break
        case 'stopContainer':
          await c.runtime.stopContainer(a.id, a.graceSeconds)
          break
        case 'removeContainer':
          await c.runtime.removeContainer(a.id)
          break
        case 'ensureImage': {
          const early = s.early?.get(a.containerName)
          s.early?.delete(a.containerName)
          const problem = early !== undefined && early.image === a.image && early.policy === a.policy
            ? await early.result
            : await ensureImage(s, a.containerName, a.image, a.policy)
          const { [a.containerName]: _done, ...otherProblems } = s.memory.imageProblems ?? {}
          if (problem === undefined) {
            s.memory = { ...s.memory, imageProblems: otherProblems }
            break
          }
          const before = s.memory.imageProblems?.[a.containerName]
          const failures = before !== undefined && before.image === a.image ? before.failures + 1 : 1
          s.memory = { ...s.memory, imageProblems: { ...otherProblems, [a.containerName]: { image: a.image, problem, atMs: now(), failures } } }
          for (const e of imageFailedEvents(a.containerName, a.image, problem)) events.record(s.pod, e)
          return false
        }
        case 'startContainer': {
          const { [a.containerName]: _done, ...otherErrors } = s.memory.startErrors ?? {}
          try {
            const id = await c.runtime.createContainer(a.sandboxId, a.config)
            events.record(s.pod, createdEvent(a.containerName))
            await c.runtime.startContainer(id)
            events.record(s.pod, startedEvent(a.containerName))
            s.memory = { ...s.memory, startErrors: otherErrors }
          } catch (err) {
            if (!(err instanceof ContainerError)) throw err
            s.memory = { ...s.memory, startErrors: { ...otherErrors, [a.containerName]: { reason: err.reason, message: err.message, atMs: now() } } }
            events.record(s.pod, startFailedEvent(a.containerName, err.message))
            // A start that failed leaves an exited attempt behind, which the next plan reads as a crash.
            return err.reason !== 'RunContainerError'
          }
          break
        }
      }
    }
    return true
  }

  /**
   * A new sandbox is about to start: make its containers' images present
   * meanwhile, not after it (a fetch from a node, or a pull, takes longer
   * than the sandbox). Their ensureImage actions take the results.
   */
  const ensureImagesEarly = (s: PodState): void => {
    s.early = new Map()
    for (const container of podSpecOf(s.pod).containers) {
      const policy = container.imagePullPolicy ?? 'IfNotPresent'
      const result = ensureImage(s, container.name, container.image, policy)
      // A failure is the ensureImage action's to record; an agent stopping meanwhile throws there too.
      result.catch(() => {})
      s.early.set(container.name, { image: container.image, policy, result })
    }
  }

  /**
   * Make the image present as the pull policy says, the cluster's copies
   * included (c.images): IfNotPresent takes this engine's, then a node's
   * that holds it, then the registry's; Always asks the registry first, as
   * Kubernetes does, and when that fails runs this engine's copy or else a
   * node's, with a Warning saying whose and why; Never only looks here.
   * Records the Pulling/Pulled events; the caller records a failure's.
   */
  const ensureImage = async (s: PodState, containerName: string, image: string, policy: 'Always' | 'IfNotPresent' | 'Never'): Promise<ImageProblem | undefined> => {
    const started = now()
    // A transfer from a node: where from when it begins, then how far every PULL_PROGRESS_MS.
    let shownMs = 0
    const watcher: FetchWatcher = {
      onStart: (node, total) => {
        shownMs = now()
        events.record(s.pod, pullingFromNodeEvent(containerName, image, { node, total }))
      },
      onProgress: (node, received, total) => {
        if (now() - shownMs < PULL_PROGRESS_MS) return
        shownMs = now()
        events.record(s.pod, pullingFromNodeEvent(containerName, image, { node, total, received }))
      }
    }
    const pulls = policy !== 'Never' && !('invalid' in parseImageRef(image))
    const fromRegistry = async (): Promise<ImageProblem | undefined> => {
      if (pulls) events.record(s.pod, pullingEvent(containerName, image))
      const problem = await c.runtime.ensureImage(image, policy)
      if (problem === undefined && pulls) events.record(s.pod, pulledEvent(containerName, image, now() - started))
      return problem
    }
    if (c.images === undefined || policy === 'Never') {
      if (policy !== 'Always' && await c.runtime.imageID(image) !== undefined) return undefined
      return await fromRegistry()
    }
    if (policy === 'IfNotPresent') {
      if (await c.runtime.imageID(image) !== undefined) return undefined
      const got = await c.images.fetch(image, watcher)
      if (got.ok) {
        events.record(s.pod, pulledFromNodeEvent(containerName, image, { node: got.from, id: got.id, bytes: got.bytes, ms: got.ms }))
        return undefined
      }
      const problem = await fromRegistry()
      return problem !== undefined && got.reason === 'failed' ? { ...problem, message: `${problem.message}; and from the cluster: ${got.message}` } : problem
    }
    const problem = await fromRegistry()
    if (problem?.reason !== 'ErrImagePull') return problem
    const own = await c.runtime.imageID(image)
    if (own !== undefined) {
      events.record(s.pod, clusterCopyEvent(containerName, image, problem.message, { node: '', id: own }))
      return undefined
    }
    const got = await c.images.fetch(image, watcher)
    if (got.ok) {
      events.record(s.pod, clusterCopyEvent(containerName, image, problem.message, { node: got.from, id: got.id }))
      events.record(s.pod, pulledFromNodeEvent(containerName, image, { node: got.from, id: got.id, bytes: got.bytes, ms: got.ms }))
      return undefined
    }
    return got.reason === 'failed' ? { ...problem, message: `${problem.message}; and from the cluster: ${got.message}` } : problem
  }

  const prepareVolumes = async (s: PodState): Promise<void> => {
    const uid = keyOf(s.pod)
    for (const v of podSpecOf(s.pod).volumes) {
      if (v.emptyDir !== undefined && v.emptyDir.medium !== 'Memory') await mkdir(volumeDir(uid, v.name), { recursive: true, mode: 0o777 })
      if (v.hostPath !== undefined && (v.hostPath.type === 'DirectoryOrCreate')) await mkdir(v.hostPath.path, { recursive: true })
    }
  }

  /** Stop and remove a gone pod's containers (apps first, with its grace period, then the sandbox) and its volumes. */
  const cleanup = async (uid: string): Promise<void> => {
    const running = cleanups.get(uid)
    if (running !== undefined) return await running
    const work = (async () => {
      // A pod this kubelet never saw (its containers outlived it): Kubernetes' minimum grace period, 2 s.
      const grace = graceOf.get(uid) ?? UNKNOWN_POD_GRACE_SECONDS
      const actions = orphans(await observedOf(uid), [], grace)
      await runOrphanActions(actions)
      prober.forget(uid)
      for (const [id, owner] of owners) if (owner === uid) owners.delete(id)
      await rm(join(c.podsDir, uid), { recursive: true, force: true })
      graceOf.delete(uid)
    })()
    cleanups.set(uid, work)
    try {
      await work
    } finally {
      cleanups.delete(uid)
    }
  }

  /** Stops run in parallel (each waits out its own grace), then the removes. */
  const runOrphanActions = async (actions: readonly PodAction[]): Promise<void> => {
    const stops = actions.filter(a => a.kind === 'stopContainer')
    const apps = stops.filter(a => a.containerName !== '')
    await Promise.all(apps.map(async a => { if (a.kind === 'stopContainer') await c.runtime.stopContainer(a.id, a.graceSeconds) }))
    await Promise.all(stops.filter(a => a.containerName === '').map(async a => { if (a.kind === 'stopContainer') await c.runtime.stopContainer(a.id, a.graceSeconds) }))
    for (const a of actions) if (a.kind === 'removeContainer') await c.runtime.removeContainer(a.id)
  }

  const upsert = (pod: KubeObject): void => {
    const uid = keyOf(pod)
    graceOf.set(uid, podSpecOf(pod).terminationGracePeriodSeconds)
    const s = pods.get(uid)
    if (s === undefined) pods.set(uid, { pod, memory: {} })
    else s.pod = pod
    schedule(uid)
  }

  const forget = (uid: string): void => {
    const s = pods.get(uid)
    if (s !== undefined) clearTimeout(s.wake)
    pods.delete(uid)
    if (!stopped) {
      cleanup(uid).catch((err: Error) => {
        if (!runtimeDown(err)) log.warn({ uid, err: err.message }, 'cleanup of a removed pod failed')
      })
    }
  }

  /** Relist pods and containers: new pods sync, gone ones are cleaned up, containers of unknown pods removed. */
  const resync = (): void => {
    if (stopped || housekeeping !== undefined) return
    housekeeping = (async () => {
      const listed = c.store().list('pods', { fieldSelector: `spec.nodeName=${c.node}` })
      if (!listed.ok) return
      const current = new Map(listed.items.map(p => [keyOf(p), p]))
      for (const uid of [...pods.keys()]) if (!current.has(uid)) forget(uid)
      for (const p of current.values()) upsert(p)
      const observed = await c.runtime.list()
      if (health.ready === false) setHealth({ ready: true })
      c.reportFull?.(statuses())
      const lost = observed.filter(o => !pods.has(o.podUid) && !cleanups.has(o.podUid))
      for (const uid of new Set(lost.map(o => o.podUid))) {
        cleanup(uid).catch((err: Error) => { if (!runtimeDown(err)) log.warn({ uid, err: err.message }, 'cleanup of a leftover pod failed') })
      }
    })().catch((err: Error) => {
      if (!runtimeDown(err)) log.warn({ err: err.message }, 'kubelet resync failed')
    }).finally(() => { housekeeping = undefined })
  }

  const podFor = (namespace: string, name: string): PodState => {
    const s = [...pods.values()].find(p => p.pod.metadata.name === name && (p.pod.metadata.namespace ?? 'default') === namespace)
    if (s === undefined) throw podNotRunningHere(name, c.node)
    return s
  }

  /** The spec container a request means: the one named, or the only one. */
  const containerFor = (s: PodState, container: string | undefined): string => {
    const names = podSpecOf(s.pod).containers.map(x => x.name)
    if (container === undefined || container === '') {
      if (names.length === 1) return names[0]!
      throw new ShoalError('BadRequest', 400, `a container name must be specified for pod ${s.pod.metadata.name}, choose one of: [${names.join(' ')}]`)
    }
    if (!names.includes(container)) throw containerNotValid(s.pod.metadata.name, container)
    return container
  }

  const attemptsOf = async (s: PodState, container: string): Promise<ObservedContainer[]> =>
    (await observedOf(keyOf(s.pod))).filter(o => o.role === 'app' && o.containerName === container).sort(newestFirst)

  const podIO: PodIO = {
    /**
     * Which attempt's log, as Kubernetes' kubelet picks it from the status
     * (validateContainerLogStatus): `previous` is lastState's container; else
     * the current one, or while it waits to restart (CrashLoopBackOff) the
     * last that ran.
     */
    async logs (namespace, name, opts) {
      const s = podFor(namespace, name)
      const container = containerFor(s, opts.container)
      const attempts = await attemptsOf(s, container)
      const cs = s.lastStatus?.containerStatuses.find(x => x.name === container)
      const idOf = (containerID: string | undefined): string | undefined => containerID?.replace(/^docker:\/\//, '')
      const last = idOf((cs?.lastState as { terminated?: { containerID?: string } } | undefined)?.terminated?.containerID)
      const waiting = (cs?.state as { waiting?: { reason?: string } } | undefined)?.waiting
      const id = opts.previous ? last : waiting !== undefined ? last : idOf(cs?.containerID) ?? attempts[0]?.id
      const target = attempts.find(o => o.id === id)
      if (target === undefined) {
        if (opts.previous) throw noPreviousContainer(name, container)
        throw containerWaiting(name, container, waiting?.reason ?? 'ContainerCreating')
      }
      return await c.runtime.logs(target.id, {
        follow: opts.follow && !opts.previous,
        timestamps: opts.timestamps,
        signal: opts.signal,
        ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
        ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {})
      })
    },
    async exec (namespace, name, opts) {
      const s = podFor(namespace, name)
      const container = containerFor(s, opts.container)
      const running = (await attemptsOf(s, container)).find(o => o.state === 'running')
      if (running === undefined) throw containerNotRunning(name, container)
      return await c.runtime.exec(running.id, opts.command, { tty: opts.tty, signal: opts.signal, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) })
    }
  }

  const statuses = (): PodStatusReport[] =>
    [...pods.values()].filter(s => s.lastStatus !== undefined || s.rejected !== undefined)
      .map(s => ({ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid: keyOf(s.pod), status: s.rejected ?? s.lastStatus }))

  return {
    podIO,
    health: () => health,
    statuses,
    async start () {
      try {
        await c.runtime.ping()
        learnEngine()
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
      unsubscribe = c.runtime.onChange(id => {
        const uid = owners.get(id)
        if (uid !== undefined) {
          schedule(uid)
          return
        }
        c.runtime.inspect(id).then(o => {
          if (o === undefined) return
          owners.set(id, o.podUid)
          if (pods.has(o.podUid)) schedule(o.podUid)
          else resync()
        }, (err: Error) => { runtimeDown(err) })
      })
      for (const p of listed.items) upsert(p)
      resync()
      resyncTimer = setInterval(resync, c.resyncMs ?? 5_000)
      log.info({ node: c.node, pods: listed.items.length }, 'kubelet started')
    },
    async stop (opts = {}) {
      stopped = true
      stopping.abort()
      watch?.stop()
      unsubscribe?.()
      clearInterval(resyncTimer)
      clearTimeout(pingTimer)
      prober.stop()
      for (const s of pods.values()) clearTimeout(s.wake)
      await Promise.allSettled([...pods.values()].map(async s => await s.syncs?.idle()))
      await housekeeping
      await Promise.allSettled([...cleanups.values()])
      if (opts.removeContainers === true) {
        try {
          const all = await c.runtime.list()
          await runOrphanActions(orphans(all, [], 0).map(a => a.kind === 'stopContainer' ? { ...a, graceSeconds: graceOf.get(all.find(o => o.id === a.id)?.podUid ?? '') ?? a.graceSeconds } : a))
          await rm(c.podsDir, { recursive: true, force: true })
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not remove the containers of this node')
        }
      }
      await events.flush()
      await c.runtime.close().catch(() => {})
    }
  }
}
