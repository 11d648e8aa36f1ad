import type { KubeObject } from '../store/types.ts'
import type { ContainerConfig, ObservedContainer, SandboxConfig } from './types.ts'
import type { BackoffEntry } from './backoff.ts'
import type { ContainerView, KubeletEvent, PodInput, PodMemory } from './decide.ts'
import { sandboxConfigFor } from './config.ts'
import { currentSandbox, newestFirst, viewContainers } from './decide.ts'
import { probeKillMessage } from './probes.ts'
import { DEFAULT_GRACE_SECONDS, podSpecOf } from './spec.ts'

/**
 * The kubelet's sync of one pod (Kubernetes' kuberuntime SyncPod), as a pure
 * plan: given the pod, what the runtime shows and what the kubelet
 * remembers, the next actions in Kubernetes' order. The agent runs a plan's
 * actions in order, stops at the first that fails (recording the failure in
 * the pod's memory), stores the plan's `memory`, and plans again; it also
 * plans again on a runtime event or at `nextSyncAt`.
 */

/** Why a container is stopped, for the agent's logs. */
export type StopReason = 'PodDeleted' | 'PodCompleted' | 'Unhealthy' | 'SandboxDead' | 'ExtraSandbox' | 'UnknownContainer' | 'Orphaned'

export type PodAction =
  | { readonly kind: 'runSandbox', readonly config: SandboxConfig }
  /** SIGTERM, then SIGKILL after graceSeconds. */
  | { readonly kind: 'stopContainer', readonly id: string, readonly containerName: string, readonly graceSeconds: number, readonly reason: StopReason }
  | { readonly kind: 'removeContainer', readonly id: string }
  /** Make the image present as `policy` says (the agent records Pulling/Pulled events, or the failure in memory.imageProblems). */
  | { readonly kind: 'ensureImage', readonly containerName: string, readonly image: string, readonly policy: 'Always' | 'IfNotPresent' | 'Never' }
  /** Create the container in sandbox `sandboxId` and start it (Created/Started events; a failure goes to memory.startErrors). */
  | { readonly kind: 'startContainer', readonly containerName: string, readonly sandboxId: string, readonly config: ContainerConfig }

export interface PodPlan {
  readonly actions: readonly PodAction[]
  /** Events of the decisions (BackOff, Killing, Failed); the agent aggregates repeats as Kubernetes' event correlator does. */
  readonly events: readonly KubeletEvent[]
  /** The pod's memory after the plan: crash-loop backoff entries advanced for the containers it starts. */
  readonly memory: PodMemory
  /** The pod is being deleted and nothing of it runs: the agent may finish the deletion (Kubernetes' final delete with grace 0). */
  readonly terminated: boolean
  /** When a wait (backoff) ends and the pod should be planned again, ms. */
  readonly nextSyncAt?: number
}

function stopAll (running: readonly ObservedContainer[], graceSeconds: number, reason: StopReason): { actions: PodAction[], events: KubeletEvent[] } {
  const apps = running.filter(o => o.role === 'app')
  const sandboxes = running.filter(o => o.role === 'sandbox')
  const actions: PodAction[] = [...apps, ...sandboxes].map(o => ({ kind: 'stopContainer', id: o.id, containerName: o.containerName, graceSeconds, reason }))
  const events: KubeletEvent[] = apps.map(o => ({ type: 'Normal', reason: 'Killing', message: `Stopping container ${o.containerName}`, containerName: o.containerName }))
  return { actions, events }
}

/** Old attempts: per container name, everything not running but the newest exited one (kept for `logs --previous`). */
function staleContainers (apps: readonly ObservedContainer[]): ObservedContainer[] {
  const keep = new Set<string>()
  for (const name of new Set(apps.map(o => o.containerName))) {
    const last = apps.filter(o => o.containerName === name && o.state !== 'running').sort(newestFirst)[0]
    if (last !== undefined) keep.add(last.id)
  }
  return apps.filter(o => o.state !== 'running' && !keep.has(o.id))
}

/** Kubernetes' podIsTerminal for the kubelet: deleted, already Succeeded/Failed, or every container exited for good. */
function isFinished (pod: KubeObject, views: readonly ContainerView[]): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase
  if (phase === 'Succeeded' || phase === 'Failed') return true
  return views.length > 0 && views.every(v => v.decision.kind === 'done')
}

/**
 * The next actions for a pod bound to this node, in Kubernetes' order:
 * a deleted or finished pod has its app containers, then its sandbox,
 * stopped; a pod without a running sandbox gets one (a dead sandbox is
 * replaced: Kubernetes' "Pod sandbox changed, it will be killed and
 * re-created", and every container restarts in the new one, except under
 * restartPolicy Never once containers have run); then per spec container,
 * in order: a probe-failed container is stopped, so the next plan restarts
 * it; a missing or exited one (that restartPolicy restarts, past its
 * backoff) gets ensureImage then startContainer; last, old exited attempts
 * are removed. Init containers are not run (not supported yet).
 */
export function planPod (input: PodInput): PodPlan {
  const { pod } = input
  const spec = podSpecOf(pod)
  const uid = pod.metadata.uid
  const mine = input.observed.filter(o => o.podUid === uid)
  const running = mine.filter(o => o.state === 'running')
  const memory: PodMemory = input.memory ?? {}
  const deleting = pod.metadata.deletionTimestamp !== undefined
  const views = viewContainers(input)

  if (deleting || isFinished(pod, views)) {
    const dgps = pod.metadata['deletionGracePeriodSeconds']
    const grace = deleting && typeof dgps === 'number' ? dgps : spec.terminationGracePeriodSeconds
    const { actions, events } = stopAll(running, grace, deleting ? 'PodDeleted' : 'PodCompleted')
    return { actions, events, memory, terminated: deleting && running.length === 0 }
  }

  const actions: PodAction[] = []
  const events: KubeletEvent[] = []
  const names = new Set(spec.containers.map(c => c.name))
  const apps = mine.filter(o => o.role === 'app')
  for (const o of apps.filter(o => !names.has(o.containerName))) {
    if (o.state === 'running') actions.push({ kind: 'stopContainer', id: o.id, containerName: o.containerName, graceSeconds: spec.terminationGracePeriodSeconds, reason: 'UnknownContainer' })
    actions.push({ kind: 'removeContainer', id: o.id })
  }
  const known = apps.filter(o => names.has(o.containerName))

  const sandbox = currentSandbox(mine)
  for (const o of mine.filter(o => o.role === 'sandbox' && o.id !== sandbox?.id)) {
    if (o.state === 'running') actions.push({ kind: 'stopContainer', id: o.id, containerName: '', graceSeconds: 0, reason: 'ExtraSandbox' })
    if (sandbox !== undefined) actions.push({ kind: 'removeContainer', id: o.id })
  }
  for (const o of staleContainers(known)) actions.push({ kind: 'removeContainer', id: o.id })

  if (sandbox === undefined) {
    const stop = stopAll(known.filter(o => o.state === 'running'), spec.terminationGracePeriodSeconds, 'SandboxDead')
    actions.push(...stop.actions)
    events.push(...stop.events)
    const hadSandbox = mine.some(o => o.role === 'sandbox')
    // Kubernetes does not make a new sandbox for a restartPolicy=Never pod whose containers have run: it ends instead.
    if (spec.restartPolicy === 'Never' && hadSandbox && known.length > 0) return { actions, events, memory, terminated: false }
    if (hadSandbox) events.push({ type: 'Normal', reason: 'SandboxChanged', message: 'Pod sandbox changed, it will be killed and re-created.' })
    for (const o of mine.filter(o => o.role === 'sandbox')) actions.push({ kind: 'removeContainer', id: o.id })
    actions.push({ kind: 'runSandbox', config: sandboxConfigFor(pod, input.publishIP ?? input.hostIP) })
    return { actions, events, memory, terminated: false }
  }

  const backoff: Record<string, BackoffEntry> = { ...memory.backoff }
  let nextSyncAt: number | undefined
  for (const v of views) {
    const d = v.decision
    const name = v.spec.name
    if (d.kind === 'running') {
      if (d.verdict.restart !== undefined && v.latest !== undefined) {
        const probe = d.verdict.restart.probe === 'Liveness' ? v.spec.livenessProbe : v.spec.startupProbe
        const grace = typeof probe?.terminationGracePeriodSeconds === 'number' ? probe.terminationGracePeriodSeconds : spec.terminationGracePeriodSeconds
        actions.push({ kind: 'stopContainer', id: v.latest.id, containerName: name, graceSeconds: grace, reason: 'Unhealthy' })
        events.push({ type: 'Normal', reason: 'Killing', message: probeKillMessage(name, d.verdict.restart.probe), containerName: name })
      }
    } else if (d.kind === 'waiting') {
      if (d.event !== undefined) events.push(d.event)
      if (d.untilMs !== undefined) nextSyncAt = Math.min(nextSyncAt ?? d.untilMs, d.untilMs)
    } else if (d.kind === 'start') {
      actions.push({ kind: 'ensureImage', containerName: name, image: v.spec.image, policy: v.spec.imagePullPolicy ?? 'IfNotPresent' })
      actions.push({ kind: 'startContainer', containerName: name, sandboxId: sandbox.id, config: d.config })
      if (d.backoff !== undefined) backoff[name] = d.backoff
    }
  }
  const next: PodMemory = { ...memory, backoff }
  return nextSyncAt === undefined ? { actions, events, memory: next, terminated: false } : { actions, events, memory: next, terminated: false, nextSyncAt }
}

/**
 * Containers of pods that are not (or no longer) bound to this node: the pod
 * was deleted, or bound elsewhere. Kubernetes' kubelet kills and removes
 * them (HandlePodCleanups); here, app containers before sandboxes, a stop
 * for each running one, then a remove for each.
 */
export function orphans (observed: readonly ObservedContainer[], podsBoundHere: readonly KubeObject[], graceSeconds = DEFAULT_GRACE_SECONDS): PodAction[] {
  const uids = new Set(podsBoundHere.map(p => p.metadata.uid))
  const lost = observed.filter(o => !uids.has(o.podUid))
  const ordered = [...lost.filter(o => o.role === 'app'), ...lost.filter(o => o.role === 'sandbox')]
  const actions: PodAction[] = []
  for (const o of ordered) {
    if (o.state === 'running') actions.push({ kind: 'stopContainer', id: o.id, containerName: o.containerName, graceSeconds: o.role === 'sandbox' ? 0 : graceSeconds, reason: 'Orphaned' })
  }
  for (const o of ordered) actions.push({ kind: 'removeContainer', id: o.id })
  return actions
}
