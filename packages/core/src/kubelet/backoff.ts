/**
 * Crash-loop backoff, as Kubernetes' kubelet keeps it (client-go
 * flowcontrol.Backoff, used by kuberuntime's doBackOff): one entry per pod
 * and container. A container that exited is restarted at once the first
 * time; after that, each restart waits a delay that starts at `initialMs`
 * and doubles up to `maxMs`, counted from the moment the last attempt
 * finished. An entry expires, and the delay starts over, once the container
 * ran for more than 2 × maxMs (10 minutes by default) since the last
 * restart. Pure data: the kubelet keeps the entries and passes `now` in.
 */

export interface BackoffConfig {
  /** The first delay, in ms. Kubernetes: 10 s. */
  readonly initialMs: number
  /** The ceiling, in ms. Kubernetes: 300 s (5 minutes). */
  readonly maxMs: number
}

export const BACKOFF_DEFAULTS: BackoffConfig = Object.freeze({ initialMs: 10_000, maxMs: 300_000 })

export interface BackoffEntry {
  /** The current delay, in ms. */
  readonly delayMs: number
  /** When the entry was last advanced (the restart it delayed), ms. */
  readonly lastUpdateMs: number
  /** The attempt whose start advanced it: advancing again for the same attempt changes nothing. */
  readonly attempt: number
}

/** Kubernetes' hasExpired: more than 2 × max between the last restart and `eventMs`. */
function expired (entry: BackoffEntry, eventMs: number, cfg: BackoffConfig): boolean {
  return eventMs - entry.lastUpdateMs > 2 * cfg.maxMs
}

/**
 * Whether a restart must still wait: the last attempt finished at
 * `finishedMs`, and less than the entry's delay has passed since
 * (IsInBackOffSince). No entry, or an expired one, never waits.
 */
export function isInBackoff (entry: BackoffEntry | undefined, finishedMs: number, now: number, cfg: BackoffConfig = BACKOFF_DEFAULTS): boolean {
  if (entry === undefined || expired(entry, finishedMs, cfg)) return false
  return now - finishedMs < entry.delayMs
}

/** When the restart may happen: `finishedMs` plus the delay, or `finishedMs` itself when there is no wait. */
export function backoffUntil (entry: BackoffEntry | undefined, finishedMs: number, cfg: BackoffConfig = BACKOFF_DEFAULTS): number {
  if (entry === undefined || expired(entry, finishedMs, cfg)) return finishedMs
  return finishedMs + entry.delayMs
}

/**
 * The entry after restarting for `attempt` at `now` (Backoff.Next): a new or
 * expired entry starts at initialMs, else the delay doubles, capped at maxMs.
 * Idempotent per attempt, so a plan computed twice does not double twice.
 */
export function advanceBackoff (entry: BackoffEntry | undefined, finishedMs: number, now: number, attempt: number, cfg: BackoffConfig = BACKOFF_DEFAULTS): BackoffEntry {
  if (entry !== undefined && entry.attempt === attempt) return entry
  const delayMs = entry === undefined || expired(entry, finishedMs, cfg) ? cfg.initialMs : Math.min(entry.delayMs * 2, cfg.maxMs)
  return { delayMs, lastUpdateMs: now, attempt }
}

/** A duration as Go's time.Duration prints it, which Kubernetes puts in messages: `10s`, `1m20s`, `5m0s`. */
export function goDuration (ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${m}m${s % 60}s` : `${m}m${s % 60}s`
}

/**
 * The waiting message of a container in CrashLoopBackOff, word for word as
 * Kubernetes writes it: `back-off 20s restarting failed container=web pod=web-1_default(UID)`.
 */
export function crashLoopMessage (delayMs: number, containerName: string, podDesc: string): string {
  return `back-off ${goDuration(delayMs)} restarting failed container=${containerName} pod=${podDesc}`
}
