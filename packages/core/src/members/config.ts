import { InvalidConfigError } from '../errors.ts'

export interface MembersConfig {
  /** How often every member publishes its heartbeat, ms. */
  readonly heartbeatIntervalMs: number
  /** Each heartbeat is sent after heartbeatIntervalMs ± this, ms, so members do not fire in step. */
  readonly heartbeatJitterMs: number
  /** Silence (no heartbeat) after which an alive member becomes suspect, ms. */
  readonly suspectAfterMs: number
  /** How long a suspect has to refute before it is declared dead, ms. */
  readonly suspicionTimeoutMs: number
}

/**
 * LAN defaults. A SIGKILLed agent's connections close at once, which makes it
 * suspect immediately; it is dead `suspicionTimeoutMs` later (≈1 s). An agent
 * that hangs without closing its sockets is suspect after 4 missed heartbeats
 * (2 s) and dead at 3 s. A steady cluster would have to lose 4 heartbeats in a
 * row to raise even a suspicion, which a heartbeat from the member clears.
 */
export const MEMBERS_LAN_DEFAULTS: MembersConfig = Object.freeze({
  heartbeatIntervalMs: 500,
  heartbeatJitterMs: 50,
  suspectAfterMs: 2000,
  suspicionTimeoutMs: 1000
})

export function resolveMembersConfig (init: Partial<MembersConfig> = {}): MembersConfig {
  const cfg = { ...MEMBERS_LAN_DEFAULTS, ...init }
  const problems: string[] = []
  for (const [key, value] of Object.entries(cfg)) {
    if (!Number.isFinite(value) || value < 0) problems.push(`${key} must be a non-negative number of ms, got ${String(value)}`)
  }
  if (cfg.heartbeatIntervalMs <= 0) problems.push('heartbeatIntervalMs must be > 0')
  if (cfg.heartbeatJitterMs >= cfg.heartbeatIntervalMs) problems.push('heartbeatJitterMs must be smaller than heartbeatIntervalMs')
  if (cfg.suspectAfterMs <= cfg.heartbeatIntervalMs) problems.push('suspectAfterMs must exceed heartbeatIntervalMs')
  if (problems.length > 0) throw new InvalidConfigError(problems)
  return Object.freeze(cfg)
}
