import type { ObservedContainer, PublishedPort } from './types.ts'
import type { ContainerView, PodInput } from './decide.ts'
import { currentSandbox, exitCodeOf, viewContainers } from './decide.ts'
import { podSpecOf, rfc3339 } from './spec.ts'
import type { ContainerSpec } from './spec.ts'

/**
 * The pod status the kubelet reports, shaped as Kubernetes' (what
 * `kubectl get pods` and `describe pod` print), computed from the same
 * decisions as the plan (decide.ts).
 */

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'

export type ContainerState =
  | { readonly waiting: { readonly reason: string, readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | { readonly terminated: TerminatedState }

export interface TerminatedState {
  readonly exitCode: number
  readonly reason: string
  readonly message?: string
  readonly startedAt?: string
  readonly finishedAt?: string
  readonly containerID: string
}

export interface ContainerStatus {
  readonly name: string
  readonly state: ContainerState
  /** The previous attempt's end; `{}` when there was none, as Kubernetes serializes it. */
  readonly lastState: ContainerState | Record<string, never>
  readonly ready: boolean
  readonly started: boolean
  readonly restartCount: number
  readonly image: string
  readonly imageID: string
  /** `docker://ID` of the latest attempt; absent before the first. */
  readonly containerID?: string
}

export interface PodCondition {
  readonly type: 'PodReadyToStartContainers' | 'Initialized' | 'Ready' | 'ContainersReady' | 'PodScheduled'
  readonly status: 'True' | 'False'
  readonly reason?: string
  readonly message?: string
  readonly lastTransitionTime: string
}

export interface PodStatus {
  readonly phase: PodPhase
  readonly reason?: string
  readonly message?: string
  readonly conditions: readonly PodCondition[]
  readonly hostIP: string
  readonly hostIPs: ReadonlyArray<{ readonly ip: string }>
  readonly podIP?: string
  readonly podIPs?: ReadonlyArray<{ readonly ip: string }>
  readonly startTime: string
  readonly containerStatuses: readonly ContainerStatus[]
  readonly qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort'
  /**
   * Shoal's extension, not in Kubernetes: the pod's container ports as
   * published on the node (`hostIP:hostPort`), so a Service proxy on any node
   * reaches the pod without an overlay network.
   */
  readonly hostPorts: readonly PublishedPort[]
}

export interface PodStatusInput extends PodInput {
  /** The status last reported (default: the stored pod's): transition times and startTime carry over. */
  readonly previousStatus?: unknown
}

function terminated (o: ObservedContainer): { terminated: TerminatedState } {
  const code = exitCodeOf(o)
  const reason = o.oomKilled === true ? 'OOMKilled' : o.state === 'created' ? 'ContainerCannotRun' : code === 0 ? 'Completed' : 'Error'
  return {
    terminated: {
      exitCode: code,
      reason,
      ...(o.error !== undefined ? { message: o.error } : {}),
      ...(o.startedAt !== undefined ? { startedAt: o.startedAt } : {}),
      ...(o.finishedAt !== undefined ? { finishedAt: o.finishedAt } : {}),
      containerID: `docker://${o.id}`
    }
  }
}

function containerStatus (v: ContainerView): ContainerStatus {
  const { latest, previous, decision: d } = v
  let state: ContainerState
  let last: ObservedContainer | undefined = previous
  if (d.kind === 'waiting') {
    state = { waiting: { reason: d.reason, ...(d.message !== undefined ? { message: d.message } : {}) } }
    last = latest
  } else if (latest === undefined) state = { waiting: { reason: 'ContainerCreating' } }
  else if (latest.state === 'running') state = { running: { startedAt: latest.startedAt ?? latest.createdAt } }
  else state = terminated(latest)
  const running = d.kind === 'running'
  return {
    name: v.spec.name,
    state,
    lastState: last !== undefined && last.state !== 'running' ? terminated(last) : {},
    ready: running && d.verdict.ready,
    started: running && d.verdict.started,
    restartCount: latest?.attempt ?? 0,
    image: latest?.image ?? v.spec.image,
    imageID: latest?.imageID ?? '',
    ...(latest !== undefined ? { containerID: `docker://${latest.id}` } : {})
  }
}

/**
 * Kubernetes' getPhase: a container waiting for its first run keeps the pod
 * Pending; with none waiting, any running container makes it Running; when
 * all have stopped, restartPolicy Always (and OnFailure after a failure) means
 * Running (restarting), all exit codes 0 Succeeded, else Failed. A deleted
 * pod with nothing left running is Succeeded or Failed by its exit codes.
 */
export function podPhase (views: readonly ContainerView[], restartPolicy: string, terminal: boolean): PodPhase {
  let waiting = 0; let running = 0; let stopped = 0; let succeeded = 0
  for (const v of views) {
    if (v.latest?.state === 'running') running++
    else if (v.latest !== undefined) {
      stopped++
      if (exitCodeOf(v.latest) === 0) succeeded++
    } else waiting++
  }
  if (terminal && running === 0) return stopped === succeeded && waiting === 0 ? 'Succeeded' : 'Failed'
  if (waiting > 0) return 'Pending'
  if (running > 0) return 'Running'
  if (stopped === 0) return 'Pending'
  if (restartPolicy === 'Always') return 'Running'
  if (stopped === succeeded) return 'Succeeded'
  return restartPolicy === 'Never' ? 'Failed' : 'Running'
}

/** Kubernetes' QoS class: Guaranteed when every container limits cpu and memory with requests equal, BestEffort with no requests or limits. */
export function qosClass (containers: readonly ContainerSpec[]): PodStatus['qosClass'] {
  let any = false; let guaranteed = true
  for (const c of containers) {
    const l = c.resources?.limits ?? {}
    const r = c.resources?.requests ?? {}
    if (Object.keys(l).length > 0 || Object.keys(r).length > 0) any = true
    for (const res of ['cpu', 'memory']) {
      if (l[res] === undefined) guaranteed = false
      else if (r[res] !== undefined && String(r[res]) !== String(l[res])) guaranteed = false
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable'
}

function condition (previous: readonly PodCondition[], now: string, c: Omit<PodCondition, 'lastTransitionTime'>): PodCondition {
  const before = previous.find(p => p.type === c.type)
  return { ...c, lastTransitionTime: before !== undefined && before.status === c.status ? before.lastTransitionTime : now }
}

/**
 * The pod's status: phase, conditions (PodReadyToStartContainers,
 * Initialized, Ready, ContainersReady, PodScheduled, in `describe`'s order;
 * a transition time is kept while its condition's status holds), host and
 * pod IPs, startTime (kept once set), containerStatuses sorted by name as
 * Kubernetes sorts them, QoS class and the published ports. A pod already
 * Succeeded or Failed keeps that phase, and a pod rejected at admission
 * (terminal, nothing ever ran) keeps its status whole. Deterministic: equal
 * inputs give deep-equal statuses, so the agent reports only changes.
 */
export function podStatus (input: PodStatusInput): PodStatus {
  const { pod } = input
  const prev = (input.previousStatus ?? pod.status ?? {}) as Partial<PodStatus>
  const spec = podSpecOf(pod)
  const uid = pod.metadata.uid
  const mine = input.observed.filter(o => o.podUid === uid)
  const wasTerminal = prev.phase === 'Succeeded' || prev.phase === 'Failed'
  if (wasTerminal && !mine.some(o => o.role === 'app') && prev.conditions !== undefined) return prev as PodStatus
  const now = rfc3339(input.now)
  const views = viewContainers(input)
  const sandbox = currentSandbox(mine)
  const deleting = pod.metadata.deletionTimestamp !== undefined
  let phase = podPhase(views, spec.restartPolicy, deleting)
  if (wasTerminal) phase = prev.phase!
  const statuses = views.map(containerStatus).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  const unready = statuses.filter(s => !s.ready).map(s => s.name)
  const finished = phase === 'Succeeded' || phase === 'Failed'
  const notReady = finished
    ? { status: 'False' as const, reason: 'PodCompleted' }
    : { status: 'False' as const, reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` }
  const ready = unready.length === 0 && !finished ? { status: 'True' as const } : notReady
  const old = prev.conditions ?? []
  const conditions: PodCondition[] = [
    condition(old, now, { type: 'PodReadyToStartContainers', status: sandbox?.podIP !== undefined ? 'True' : 'False' }),
    condition(old, now, { type: 'Initialized', status: 'True' }),
    condition(old, now, { type: 'Ready', ...ready }),
    condition(old, now, { type: 'ContainersReady', ...ready }),
    condition(old, now, { type: 'PodScheduled', status: 'True' })
  ]
  const podIP = sandbox?.podIP
  return {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(podIP !== undefined ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime: prev.startTime ?? now,
    containerStatuses: statuses,
    qosClass: qosClass(spec.containers),
    hostPorts: sandbox?.ports ?? []
  }
}
