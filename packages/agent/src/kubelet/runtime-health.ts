import type { RuntimeHealth } from '@shoal/core/members/types.ts'
import { RuntimeDownError, type ContainerRuntime } from './runtime.ts'
import type { Logger } from '../log.ts'

/**
 * The kubelet's view of its container runtime (Kubernetes' kubelet keeps
 * this in runtimeState, runtime_state.go): up or down, and why, for the
 * Node's Ready condition in the heartbeat; and the engine's ID. Any part of
 * the kubelet whose runtime call failed with RuntimeDownError hands the
 * error to `down`; from then on the engine is pinged until it answers, and
 * `onBack` relists everything.
 */
export interface RuntimeHealthMonitor {
  /** The runtime as last seen, for the heartbeat (the Node's Ready condition). */
  health: () => RuntimeHealth
  /** What a runtime call just showed; the engine's ID, once known, is kept. */
  set: (next: RuntimeHealth) => void
  /** Ask the engine its ID, once it answers (agents sharing an engine reach each other's pod IPs). */
  learnEngine: () => void
  /** True when `err` says the engine is down: then the health says so, and pings watch for its return. */
  down: (err: unknown) => boolean
  /** Stop pinging (the kubelet stops). */
  stop: () => void
}

export interface RuntimeHealthDeps {
  readonly runtime: ContainerRuntime
  readonly log: Logger
  /** Aborts when the kubelet stops: no ping, no engine question after that. */
  readonly signal: AbortSignal
  /** The engine answers again: relist pods and containers. */
  readonly onBack: () => void
}

/** How often a down runtime is pinged, ms. */
const PING_MS = 2000

export function createRuntimeHealthMonitor (d: RuntimeHealthDeps): RuntimeHealthMonitor {
  const log = d.log
  const stopped = (): boolean => d.signal.aborted
  let health: RuntimeHealth = { ready: true }
  let pingTimer: ReturnType<typeof setTimeout> | undefined

  const set = (next: RuntimeHealth): void => {
    if (next.ready !== health.ready) log.warn({ ready: next.ready, message: next.message }, next.ready ? 'container runtime is back' : 'container runtime is down')
    health = health.engine !== undefined ? { ...next, engine: health.engine } : next
  }

  const learnEngine = (): void => {
    if (health.engine !== undefined || stopped()) return
    d.runtime.engineID().then(id => {
      if (id !== '') health = { ...health, engine: id }
    }, (err: Error) => { log.debug({ err: err.message }, 'could not ask the engine its ID') })
  }

  /** Ping every PING_MS until the engine answers; one chain of pings at a time. */
  const ping = (): void => {
    pingTimer = setTimeout(() => {
      d.runtime.ping().then(() => {
        pingTimer = undefined
        set({ ready: true })
        learnEngine()
        d.onBack()
      }, (e: Error) => {
        set({ ready: false, message: e.message })
        if (!stopped()) ping()
        else pingTimer = undefined
      })
    }, PING_MS)
  }

  const down = (err: unknown): boolean => {
    if (!(err instanceof RuntimeDownError)) return false
    set({ ready: false, message: err.message })
    if (pingTimer === undefined && !stopped()) ping()
    return true
  }

  return {
    health: () => health,
    set,
    learnEngine,
    down,
    stop: () => { clearTimeout(pingTimer) }
  }
}
