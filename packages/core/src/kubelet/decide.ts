import type { KubeObject } from '../store/types.ts'
import type { ContainerConfig, ImageProblem, ObservedContainer } from './types.ts'
import type { BackoffConfig, BackoffEntry } from './backoff.ts'
import type { ContainerProbes, ContainerVerdict } from './probes.ts'
import type { ContainerSpec, PodSpecView } from './spec.ts'
import type { VolumePaths } from './config.ts'
import { BACKOFF_DEFAULTS, advanceBackoff, backoffUntil, crashLoopMessage, isInBackoff } from './backoff.ts'
import { containerConfigFor } from './config.ts'
import { containerVerdict } from './probes.ts'
import { podDesc, podSpecOf, timeMs } from './spec.ts'

/**
 * What the kubelet remembers about a pod between syncs, and what it decides
 * per container from that memory and the runtime's view. Shared by planPod
 * (sync.ts) and podStatus (status.ts) so the plan and the reported status
 * never disagree.
 */

/** An image the kubelet failed to make present for a container; the agent records it when ensureImage fails and clears it when it succeeds. */
export interface ImagePullRecord {
  readonly image: string
  readonly problem: ImageProblem
  /** When the last attempt failed, ms. */
  readonly atMs: number
  /** Consecutive failures for this image: the retry waits backoff(failures). */
  readonly failures: number
}

/** A container the runtime refused to create (CreateContainerError); retried after the initial backoff. */
export interface StartError {
  readonly reason: 'CreateContainerError' | 'RunContainerError' | 'CreateContainerConfigError'
  readonly message: string
  readonly atMs: number
}

/** The kubelet's memory of one pod, by container name. The agent keeps it; planPod returns the next one. */
export interface PodMemory {
  readonly backoff?: Readonly<Record<string, BackoffEntry>>
  readonly imageProblems?: Readonly<Record<string, ImagePullRecord>>
  readonly startErrors?: Readonly<Record<string, StartError>>
  readonly probes?: Readonly<Record<string, ContainerProbes>>
}

/** Everything planPod and podStatus read. */
export interface PodInput {
  /** The pod as stored, bound to this node. */
  readonly pod: KubeObject
  /** The runtime's containers of this pod (others are ignored). */
  readonly observed: readonly ObservedContainer[]
  /** ms. */
  readonly now: number
  /** The node's advertised address: status.hostIP, and where ports are published unless `publishIP` says otherwise. */
  readonly hostIP: string
  /** Where ports are published when the container engine does not share the agent's address (an agent in a container using the host's engine). */
  readonly publishIP?: string
  readonly memory?: PodMemory
  /** The agent's directory for each emptyDir volume. */
  readonly volumePaths?: VolumePaths
  readonly backoff?: BackoffConfig
}

/** An Event for the agent to record against the pod (`containerName`: the involved field `spec.containers{NAME}`). */
export interface KubeletEvent {
  readonly type: 'Normal' | 'Warning'
  readonly reason: 'Pulling' | 'Pulled' | 'Created' | 'Started' | 'Killing' | 'BackOff' | 'Failed' | 'Unhealthy' | 'SandboxChanged' | 'FailedCreatePodSandBox' | 'OutOfcpu' | 'OutOfmemory' | 'OutOfpods' | 'PulledFromCluster'
  readonly message: string
  readonly containerName?: string
}

/** What the kubelet does about one spec container now. */
export type ContainerDecision =
  | { readonly kind: 'running', readonly verdict: ContainerVerdict }
  /** Exited and will not run again (restartPolicy). */
  | { readonly kind: 'done' }
  /** Cannot start yet; `untilMs`: when to look again. */
  | { readonly kind: 'waiting', readonly reason: string, readonly message?: string, readonly untilMs?: number, readonly event?: KubeletEvent }
  /** Start attempt `config.attempt`; `backoff`: the entry to remember once started. */
  | { readonly kind: 'start', readonly config: ContainerConfig, readonly backoff?: BackoffEntry }

export interface ContainerView {
  readonly spec: ContainerSpec
  /** The newest attempt, running or not. */
  readonly latest?: ObservedContainer
  /** The attempt before it that exited, for lastState and `logs --previous`. */
  readonly previous?: ObservedContainer
  readonly decision: ContainerDecision
}

/** An attempt's exit code: a container the runtime created but could not start counts as 128, as Docker reports it. */
export function exitCodeOf (o: ObservedContainer): number {
  return o.exitCode ?? (o.state === 'created' ? 128 : 0)
}

/** When an attempt ended, ms (its creation when it never started). */
export function finishedMsOf (o: ObservedContainer, now: number): number {
  return timeMs(o.finishedAt) ?? timeMs(o.createdAt) ?? now
}

/** Newest first: by attempt, then creation time, then id. */
export function newestFirst (a: ObservedContainer, b: ObservedContainer): number {
  if (a.attempt !== b.attempt) return b.attempt - a.attempt
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
}

/** Kubernetes' restart rule: Always restarts, OnFailure only after a non-zero exit, Never never. */
export function shouldRestart (policy: PodSpecView['restartPolicy'], exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)
}

/** The running sandbox the pod's containers join: the newest running one. */
export function currentSandbox (observed: readonly ObservedContainer[]): ObservedContainer | undefined {
  return observed.filter(o => o.role === 'sandbox' && o.state === 'running').sort(newestFirst)[0]
}

function imageDelayMs (failures: number, cfg: BackoffConfig): number {
  return Math.min(cfg.initialMs * 2 ** Math.max(0, failures - 1), cfg.maxMs)
}

function decideStart (input: PodInput, c: ContainerSpec, latest: ObservedContainer | undefined, cfg: BackoffConfig): ContainerDecision {
  const { pod, now } = input
  const memory = input.memory ?? {}
  const entry = memory.backoff?.[c.name]
  let backoff: BackoffEntry | undefined
  const attempt = latest === undefined ? 0 : latest.attempt + 1
  if (latest !== undefined) {
    const finished = finishedMsOf(latest, now)
    if (isInBackoff(entry, finished, now, cfg)) {
      const message = crashLoopMessage(entry!.delayMs, c.name, podDesc(pod))
      const event: KubeletEvent = { type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${podDesc(pod)}`, containerName: c.name }
      return { kind: 'waiting', reason: 'CrashLoopBackOff', message, untilMs: backoffUntil(entry, finished, cfg), event }
    }
    backoff = advanceBackoff(entry, finished, now, attempt, cfg)
  }
  const image = memory.imageProblems?.[c.name]
  if (image !== undefined && image.image === c.image) {
    const untilMs = image.atMs + imageDelayMs(image.failures, cfg)
    if (now < untilMs) {
      if (image.problem.reason === 'ErrImagePull' && image.failures > 1) {
        const message = `Back-off pulling image "${c.image}"`
        return { kind: 'waiting', reason: 'ImagePullBackOff', message, untilMs, event: { type: 'Normal', reason: 'BackOff', message, containerName: c.name } }
      }
      return { kind: 'waiting', reason: image.problem.reason, message: image.problem.message, untilMs }
    }
  }
  const err = memory.startErrors?.[c.name]
  if (err !== undefined && now < err.atMs + cfg.initialMs) return { kind: 'waiting', reason: err.reason, message: err.message, untilMs: err.atMs + cfg.initialMs }
  const sandbox = currentSandbox(input.observed)
  const fields = { hostIP: input.hostIP, ...(sandbox?.podIP !== undefined ? { podIP: sandbox.podIP } : {}) }
  const config = containerConfigFor(pod, c.name, attempt, input.volumePaths ?? (() => undefined), fields)
  if ('error' in config) {
    return { kind: 'waiting', reason: 'CreateContainerConfigError', message: config.error, event: { type: 'Warning', reason: 'Failed', message: `Error: ${config.error}`, containerName: c.name } }
  }
  return backoff === undefined ? { kind: 'start', config } : { kind: 'start', config, backoff }
}

/**
 * Per spec container (app containers only: init containers are not run yet),
 * Kubernetes' computePodActions and doBackOff: a running container stays,
 * restarted only when a startup or liveness probe says so; a missing one
 * starts; an exited one restarts as restartPolicy says, after its crash-loop
 * backoff, after any image pull backoff, and only when its config can be made.
 */
export function viewContainers (input: PodInput): ContainerView[] {
  const spec = podSpecOf(input.pod)
  const cfg = input.backoff ?? BACKOFF_DEFAULTS
  const uid = input.pod.metadata.uid
  const apps = input.observed.filter(o => o.role === 'app' && o.podUid === uid)
  return spec.containers.map(c => {
    const attempts = apps.filter(o => o.containerName === c.name).sort(newestFirst)
    const latest = attempts[0]
    const previous = attempts.slice(1).find(o => o.state !== 'running')
    const base = { spec: c, ...(latest !== undefined ? { latest } : {}), ...(previous !== undefined ? { previous } : {}) }
    if (latest?.state === 'running') return { ...base, decision: { kind: 'running', verdict: containerVerdict(c, latest.id, input.memory?.probes?.[c.name]) } }
    if (latest !== undefined && !shouldRestart(spec.restartPolicy, exitCodeOf(latest))) return { ...base, decision: { kind: 'done' } }
    return { ...base, decision: decideStart(input, c, latest, cfg) }
  })
}
