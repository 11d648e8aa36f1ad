import type { ContainerSpec, ProbeFields } from './spec.ts'

/**
 * Probe bookkeeping, as Kubernetes' prober workers keep it (pkg/kubelet/prober/worker.go),
 * without the running: the agent runs a probe when it is due and feeds the
 * result in; these functions say when the next one is due and what the
 * results mean for the container.
 */

export type ProbeKind = 'liveness' | 'readiness' | 'startup'

/** A probe's timing, with Kubernetes' defaults. */
export interface ProbeSpec {
  readonly initialDelaySeconds: number
  /** Default 10. */
  readonly periodSeconds: number
  /** Default 1. */
  readonly timeoutSeconds: number
  /** Default 1 (always 1 for liveness and startup). */
  readonly successThreshold: number
  /** Default 3. */
  readonly failureThreshold: number
}

const positive = (v: unknown, d: number): number => typeof v === 'number' && v > 0 ? v : d

/** The timing of a probe from the pod spec, zero or absent fields defaulted as the API does. */
export function probeSpecOf (p: ProbeFields): ProbeSpec {
  return {
    initialDelaySeconds: typeof p.initialDelaySeconds === 'number' && p.initialDelaySeconds > 0 ? p.initialDelaySeconds : 0,
    periodSeconds: positive(p.periodSeconds, 10),
    timeoutSeconds: positive(p.timeoutSeconds, 1),
    successThreshold: positive(p.successThreshold, 1),
    failureThreshold: positive(p.failureThreshold, 3)
  }
}

/** One probe run's outcome, with the runner's message on failure (`HTTP probe failed with statuscode: 500`). */
export interface ProbeResult {
  readonly ok: boolean
  readonly atMs: number
  readonly message?: string
}

/** A probe's state for one container (one container id: a restart starts over). */
export interface ProbeState {
  /** When the last probe ran, ms; undefined before the first. */
  readonly lastAtMs?: number
  readonly successes: number
  readonly failures: number
  /**
   * The verdict once a threshold was crossed. Before any: readiness and
   * startup are failing (not ready, not started), liveness succeeding, as
   * Kubernetes sets each worker's initial value.
   */
  readonly verdict: 'success' | 'failure'
  readonly lastMessage?: string
}

export function initialProbeState (kind: ProbeKind): ProbeState {
  return { successes: 0, failures: 0, verdict: kind === 'liveness' ? 'success' : 'failure' }
}

/**
 * The state after one result: consecutive successes reaching successThreshold
 * make the verdict success, consecutive failures reaching failureThreshold make
 * it failure; in between the verdict stays what it was.
 */
export function recordProbeResult (spec: ProbeSpec, state: ProbeState, result: ProbeResult): ProbeState {
  const successes = result.ok ? state.successes + 1 : 0
  const failures = result.ok ? 0 : state.failures + 1
  let verdict = state.verdict
  if (successes >= spec.successThreshold) verdict = 'success'
  if (failures >= spec.failureThreshold) verdict = 'failure'
  return { lastAtMs: result.atMs, successes, failures, verdict, ...(result.message !== undefined ? { lastMessage: result.message } : {}) }
}

/**
 * When the probe is next due: not before initialDelaySeconds after the
 * container started, then every periodSeconds after the last run.
 */
export function nextProbeAt (spec: ProbeSpec, state: ProbeState, startedAtMs: number): number {
  const first = startedAtMs + spec.initialDelaySeconds * 1000
  return state.lastAtMs === undefined ? first : Math.max(first, state.lastAtMs + spec.periodSeconds * 1000)
}

/** The probe states of one running container, keyed to its id so a new attempt starts fresh. */
export interface ContainerProbes {
  readonly containerId: string
  readonly liveness?: ProbeState
  readonly readiness?: ProbeState
  readonly startup?: ProbeState
}

/** What the probes say about a running container. */
export interface ContainerVerdict {
  /** The startup probe succeeded (or there is none): Kubernetes' `started`. */
  readonly started: boolean
  /** Started, and the readiness probe succeeded (or there is none). */
  readonly ready: boolean
  /** The container must be killed: startup or liveness reached failureThreshold. */
  readonly restart?: { readonly probe: 'Liveness' | 'Startup', readonly message: string }
}

const PROBES = [['startup', 'startupProbe'], ['liveness', 'livenessProbe'], ['readiness', 'readinessProbe']] as const

/** The state of `kind` for container `id`: fresh when `probes` belongs to another container. */
export function probeState (probes: ContainerProbes | undefined, id: string, kind: ProbeKind): ProbeState {
  return (probes?.containerId === id ? probes[kind] : undefined) ?? initialProbeState(kind)
}

/**
 * Kubernetes' rules for a running container: while a startup probe has not
 * succeeded, liveness and readiness do not run and the container is neither
 * started nor ready; startup failing failureThreshold times, or liveness
 * failing failureThreshold times after startup, means a restart. A container
 * without a readiness probe is ready once started.
 */
export function containerVerdict (c: ContainerSpec, id: string, probes: ContainerProbes | undefined): ContainerVerdict {
  const startup = probeState(probes, id, 'startup')
  const started = c.startupProbe === undefined || startup.verdict === 'success'
  if (!started) {
    const failed = c.startupProbe !== undefined && startup.failures >= probeSpecOf(c.startupProbe).failureThreshold
    return failed ? { started, ready: false, restart: { probe: 'Startup', message: startup.lastMessage ?? '' } } : { started, ready: false }
  }
  const live = probeState(probes, id, 'liveness')
  const ready = c.readinessProbe === undefined || probeState(probes, id, 'readiness').verdict === 'success'
  if (c.livenessProbe !== undefined && live.verdict === 'failure') return { started, ready, restart: { probe: 'Liveness', message: live.lastMessage ?? '' } }
  return { started, ready }
}

/**
 * The probes of a running container due at `now`, in Kubernetes' order
 * (startup first; liveness and readiness only once started), each with its
 * spec so the runner knows the timeout. The earliest future due time comes
 * back as `nextAtMs`, for the agent's timer.
 */
export function dueProbes (c: ContainerSpec, id: string, startedAtMs: number, probes: ContainerProbes | undefined, now: number): { due: Array<{ kind: ProbeKind, spec: ProbeSpec, probe: ProbeFields }>, nextAtMs?: number } {
  const started = containerVerdict(c, id, probes).started
  const due: Array<{ kind: ProbeKind, spec: ProbeSpec, probe: ProbeFields }> = []
  let nextAtMs: number | undefined
  for (const [kind, field] of PROBES) {
    const probe = c[field]
    if (probe === undefined) continue
    if (kind === 'startup' ? started : !started) continue
    const spec = probeSpecOf(probe)
    const at = nextProbeAt(spec, probeState(probes, id, kind), startedAtMs)
    if (at <= now) due.push({ kind, spec, probe })
    else nextAtMs = Math.min(nextAtMs ?? at, at)
  }
  return nextAtMs === undefined ? { due } : { due, nextAtMs }
}

/**
 * The `Unhealthy` event of a failed probe, as Kubernetes words it:
 * `Liveness probe failed: HTTP probe failed with statuscode: 500`,
 * `Readiness probe failed: dial tcp 10.0.0.5:8080: connect: connection refused`.
 * The runner gives the part after the colon.
 */
export function probeFailureMessage (kind: ProbeKind, message: string): string {
  const name = kind === 'liveness' ? 'Liveness' : kind === 'readiness' ? 'Readiness' : 'Startup'
  return `${name} probe failed: ${message}`
}

/** The `Killing` event when a probe makes the kubelet restart a container: `Container web failed liveness probe, will be restarted`. */
export function probeKillMessage (containerName: string, probe: 'Liveness' | 'Startup'): string {
  return `Container ${containerName} failed ${probe.toLowerCase()} probe, will be restarted`
}
