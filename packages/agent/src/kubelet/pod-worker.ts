import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { KubeObject } from '@shoal/core'
import {
  admitPod, clusterCopyEvent, createdEvent, pullingFromNodeEvent, imageFailedEvents, pulledFromNodeEvent, planPod, podSpecOf, podStatus, pulledEvent, pullingEvent, startedEvent, startFailedEvent,
  type ImageProblem, type KubeletEvent, type ObservedContainer, type PodAction, type PodMemory, type PodStatus
} from '@shoal/core/kubelet/index.ts'
import { parseImageRef } from '@shoal/core/images/ref.ts'
import { ContainerError, RuntimeDownError } from './runtime.ts'
import { coalescing, type Coalescing } from '../serial.ts'
import type { Prober } from './prober.ts'
import type { EventRecorder } from './events.ts'
import type { KubeletComponents } from './kubelet.ts'
import type { Logger } from '../log.ts'
import type { FetchWatcher } from '../images/images.ts'

/**
 * The pod workers of the kubelet (Kubernetes' pod_workers.go and
 * syncPod): each pod bound here is synced by one worker at a time. A sync
 * admits the pod (once), plans (core planPod), carries out the plan's
 * actions in order (sandbox, images, containers), plans again until there
 * is nothing to do, then computes the status (core podStatus) and reports
 * it when it changed. A sync whose actions failed, or whose plan asks to be
 * looked at again later (a backoff ending), wakes the pod up later.
 */
export interface PodWorker {
  /** A pod bound here, new or changed: keep it and sync it. */
  update: (pod: KubeObject) => void
  /** A pod no longer bound here: drop it and its wakeup (its containers are the cleanup's). */
  remove: (uid: string) => void
  /** Sync the pod now, or once more after the sync in progress. */
  schedule: (uid: string) => void
  /** Once the kubelet's signal aborted: cancel the wakeups, and wait for the syncs in progress. */
  stop: () => Promise<void>
}

/** What the kubelet keeps per pod between syncs. */
export interface PodState {
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
  readonly policy: PullPolicy
  readonly result: Promise<ImageProblem | undefined>
}

type PullPolicy = 'Always' | 'IfNotPresent' | 'Never'

export interface PodWorkerDeps extends Pick<KubeletComponents, 'hostIP' | 'publishIP' | 'podsDir' | 'capacity' | 'runtime' | 'images' | 'report' | 'backoff' | 'current'> {
  /** Every pod bound here, by uid: the worker adds, updates and drops them. */
  readonly pods: Map<string, PodState>
  readonly events: EventRecorder
  /** Re-armed with what each sync observed. */
  readonly prober: Pick<Prober, 'track'>
  /** A pod's containers as the runtime has them now. */
  readonly observedOf: (uid: string) => Promise<ObservedContainer[]>
  /** The runtime is up: a sync while it is down does nothing (the pings' resync starts them again). */
  readonly ready: () => boolean
  /** True when `err` says the runtime is down (and the health then says so). */
  readonly runtimeDown: (err: unknown) => boolean
  readonly log: Logger
  readonly now: () => number
  /** Aborts when the kubelet stops: no sync starts, no wakeup is set, waiting for the replica gives up. */
  readonly signal: AbortSignal
}

/** Rounds of plan → act in one sync before it yields (a plan that keeps failing is retried later). */
const MAX_ROUNDS = 6
/** How soon a sync whose actions failed is tried again, ms. */
const RETRY_MS = 1000
/** How often a transfer of an image from a node says how far it got (a Pulling event), ms. */
const PULL_PROGRESS_MS = 2000

export const keyOf = (pod: KubeObject): string => pod.metadata.uid

/** Where a pod's emptyDir volume lives: DIR/UID/volumes/NAME. */
const volumeDir = (podsDir: string, uid: string, name: string): string => join(podsDir, uid, 'volumes', name)

export function createPodWorker (d: PodWorkerDeps): PodWorker {
  const { pods, events, log, now } = d
  const stopped = (): boolean => d.signal.aborted

  const schedule = (uid: string): void => {
    const s = pods.get(uid)
    if (s === undefined || stopped()) return
    s.syncs ??= coalescing(async () => { await sync(s) }, err => {
      if (!d.runtimeDown(err)) log.warn({ pod: `${s.pod.metadata.namespace}/${s.pod.metadata.name}`, err: err.message }, 'pod sync failed')
      wakeAt(s, now() + RETRY_MS)
    }, () => !stopped() && pods.get(uid) === s)
    s.syncs.request()
  }

  const wakeAt = (s: PodState, at: number): void => {
    if (stopped()) return
    if (s.wake !== undefined && s.wakeAt !== undefined && s.wakeAt <= at) return
    clearTimeout(s.wake)
    s.wakeAt = at
    s.wake = setTimeout(() => {
      s.wake = undefined
      s.wakeAt = undefined
      schedule(keyOf(s.pod))
    }, Math.max(0, at - now()))
  }

  /** Admission, once per pod: a pod that cannot fit this node fails here, as Kubernetes' kubelet rejects it. */
  const admit = (s: PodState): boolean => {
    if (s.rejected !== undefined) return false
    if (s.lastStatus !== undefined || (s.pod.status as { phase?: string } | undefined)?.phase !== 'Pending') return true
    const admitted = [...pods.values()].filter(o => o !== s && o.rejected === undefined && o.lastStatus !== undefined && o.lastStatus.phase !== 'Succeeded' && o.lastStatus.phase !== 'Failed').map(o => o.pod)
    const verdict = admitPod(s.pod, d.capacity, admitted)
    if (verdict.admitted) return true
    s.rejected = verdict.status
    events.record(s.pod, { type: 'Warning', reason: verdict.reason as KubeletEvent['reason'], message: verdict.message })
    d.report([{ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid: s.pod.metadata.uid, status: verdict.status }])
    return false
  }

  const sync = async (s: PodState): Promise<void> => {
    if (!d.ready()) return
    if (!admit(s)) return
    const uid = keyOf(s.pod)
    const volumePaths = (name: string): string | undefined => podSpecOf(s.pod).volumes.some(v => v.name === name && v.emptyDir !== undefined) ? volumeDir(d.podsDir, uid, name) : undefined
    let observed: ObservedContainer[] = []
    let retry = false
    for (let round = 0; round < MAX_ROUNDS && !stopped(); round++) {
      observed = await d.observedOf(uid)
      if (pods.get(uid) !== s) return
      const plan = planPod({ pod: s.pod, observed, now: now(), hostIP: d.hostIP, ...(d.publishIP !== undefined ? { publishIP: d.publishIP } : {}), memory: s.memory, volumePaths, ...(d.backoff !== undefined ? { backoff: d.backoff } : {}) })
      s.memory = plan.memory
      for (const e of plan.events) events.record(s.pod, e)
      if (plan.nextSyncAt !== undefined) wakeAt(s, plan.nextSyncAt)
      if (plan.actions.length === 0) break
      const ok = await act(s, plan.actions)
      if (!ok) {
        retry = true
        observed = await d.observedOf(uid)
        break
      }
      if (round === MAX_ROUNDS - 1) retry = true
    }
    if (retry) wakeAt(s, now() + RETRY_MS)
    if (pods.get(uid) !== s || stopped()) return
    const status = podStatus({ pod: s.pod, observed, now: now(), hostIP: d.hostIP, memory: s.memory, volumePaths, previousStatus: s.lastStatus ?? s.pod.status, ...(d.backoff !== undefined ? { backoff: d.backoff } : {}) })
    d.prober.track(uid, s.pod, observed)
    if (!isDeepStrictEqual(status, s.lastStatus)) {
      s.lastStatus = status
      d.report([{ namespace: s.pod.metadata.namespace ?? 'default', name: s.pod.metadata.name, uid, status }])
    }
  }

  /** Carry out a plan's actions in order; false at the first that failed (recorded in the pod's memory). */
  const act = async (s: PodState, actions: readonly PodAction[]): Promise<boolean> => {
    const uid = keyOf(s.pod)
    for (const a of actions) {
      if (stopped() || pods.get(uid) !== s) return false
      switch (a.kind) {
        case 'runSandbox':
          await d.current?.(d.signal)
          if (stopped() || pods.get(uid) !== s) return false
          await prepareVolumes(d.podsDir, s.pod)
          ensureImagesEarly(s)
          try {
            await d.runtime.runSandbox(a.config)
          } catch (err) {
            if (err instanceof RuntimeDownError) throw err
            // A host port taken, a bad hostname: the pod stays ContainerCreating and says why; retried later.
            events.record(s.pod, { type: 'Warning', reason: 'FailedCreatePodSandBox', message: `Failed to create pod sandbox: ${(err as Error).message}` })
            return false
          }
          break
        case 'stopContainer':
          await d.runtime.stopContainer(a.id, a.graceSeconds)
          break
        case 'removeContainer':
          await d.runtime.removeContainer(a.id)
          break
        case 'ensureImage': {
          const early = s.early?.get(a.containerName)
          s.early?.delete(a.containerName)
          const problem = early !== undefined && early.image === a.image && early.policy === a.policy
            ? await early.result
            : await ensureImage(d, s.pod, a.containerName, a.image, a.policy)
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
            const id = await d.runtime.createContainer(a.sandboxId, a.config)
            events.record(s.pod, createdEvent(a.containerName))
            await d.runtime.startContainer(id)
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
      const result = ensureImage(d, s.pod, container.name, container.image, policy)
      // A failure is the ensureImage action's to record; an agent stopping meanwhile throws there too.
      result.catch(() => {})
      s.early.set(container.name, { image: container.image, policy, result })
    }
  }

  return {
    update (pod) {
      const uid = keyOf(pod)
      const s = pods.get(uid)
      if (s === undefined) pods.set(uid, { pod, memory: {} })
      else s.pod = pod
      schedule(uid)
    },
    remove (uid) {
      const s = pods.get(uid)
      if (s !== undefined) clearTimeout(s.wake)
      pods.delete(uid)
    },
    schedule,
    async stop () {
      for (const s of pods.values()) clearTimeout(s.wake)
      await Promise.allSettled([...pods.values()].map(async s => await s.syncs?.idle()))
    }
  }
}

/**
 * Make the image present as the pull policy says, the cluster's copies
 * included (d.images): IfNotPresent takes this engine's, then a node's
 * that holds it, then the registry's; Always asks the registry first, as
 * Kubernetes does, and when that fails runs this engine's copy or else a
 * node's, with a Warning saying whose and why; Never only looks here.
 * Records the Pulling/Pulled events about `pod`; the caller records a failure's.
 */
async function ensureImage (d: Pick<PodWorkerDeps, 'runtime' | 'images' | 'events' | 'now'>, pod: KubeObject, containerName: string, image: string, policy: PullPolicy): Promise<ImageProblem | undefined> {
  const { events, now } = d
  const started = now()
  // A transfer from a node: where from when it begins, then how far every PULL_PROGRESS_MS.
  let shownMs = 0
  const watcher: FetchWatcher = {
    onStart: (node, total) => {
      shownMs = now()
      events.record(pod, pullingFromNodeEvent(containerName, image, { node, total }))
    },
    onProgress: (node, received, total) => {
      if (now() - shownMs < PULL_PROGRESS_MS) return
      shownMs = now()
      events.record(pod, pullingFromNodeEvent(containerName, image, { node, total, received }))
    }
  }
  const pulls = policy !== 'Never' && !('invalid' in parseImageRef(image))
  const fromRegistry = async (): Promise<ImageProblem | undefined> => {
    if (pulls) events.record(pod, pullingEvent(containerName, image))
    const problem = await d.runtime.ensureImage(image, policy)
    if (problem === undefined && pulls) events.record(pod, pulledEvent(containerName, image, now() - started))
    return problem
  }
  if (d.images === undefined || policy === 'Never') {
    if (policy !== 'Always' && await d.runtime.imageID(image) !== undefined) return undefined
    return await fromRegistry()
  }
  if (policy === 'IfNotPresent') {
    if (await d.runtime.imageID(image) !== undefined) return undefined
    const got = await d.images.fetch(image, watcher)
    if (got.ok) {
      events.record(pod, pulledFromNodeEvent(containerName, image, { node: got.from, id: got.id, bytes: got.bytes, ms: got.ms }))
      return undefined
    }
    const problem = await fromRegistry()
    return problem !== undefined && got.reason === 'failed' ? { ...problem, message: `${problem.message}; and from the cluster: ${got.message}` } : problem
  }
  const problem = await fromRegistry()
  if (problem?.reason !== 'ErrImagePull') return problem
  const own = await d.runtime.imageID(image)
  if (own !== undefined) {
    events.record(pod, clusterCopyEvent(containerName, image, problem.message, { node: '', id: own }))
    return undefined
  }
  const got = await d.images.fetch(image, watcher)
  if (got.ok) {
    events.record(pod, clusterCopyEvent(containerName, image, problem.message, { node: got.from, id: got.id }))
    events.record(pod, pulledFromNodeEvent(containerName, image, { node: got.from, id: got.id, bytes: got.bytes, ms: got.ms }))
    return undefined
  }
  return got.reason === 'failed' ? { ...problem, message: `${problem.message}; and from the cluster: ${got.message}` } : problem
}

/** Make the directories a pod's volumes need before its sandbox starts: its emptyDirs on disk, and DirectoryOrCreate hostPaths. */
async function prepareVolumes (podsDir: string, pod: KubeObject): Promise<void> {
  const uid = keyOf(pod)
  for (const v of podSpecOf(pod).volumes) {
    if (v.emptyDir !== undefined && v.emptyDir.medium !== 'Memory') await mkdir(volumeDir(podsDir, uid, v.name), { recursive: true, mode: 0o777 })
    if (v.hostPath !== undefined && (v.hostPath.type === 'DirectoryOrCreate')) await mkdir(v.hostPath.path, { recursive: true })
  }
}
