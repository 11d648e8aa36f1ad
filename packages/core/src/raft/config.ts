import { InvalidConfigError } from '../errors.ts'

export interface RaftConfig {
  /** Ticks without hearing from a leader before a follower campaigns (randomised in [n, 2n)). */
  readonly electionTicks: number
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTicks: number
  /** Append messages in flight to one follower before the leader waits for acknowledgements. */
  readonly maxInflight: number
  /** Most entries in one append message. */
  readonly maxEntriesPerAppend: number
  /** Most bytes of entry data in one append message (at least one entry is always sent). */
  readonly maxBytesPerAppend: number
  /** §9.6: a node first asks whether it could win before raising its term, so a node cut off and back does not depose a healthy leader. */
  readonly preVote: boolean
  /** A leader that has not heard from a quorum within an election timeout steps down; followers that heard from a leader lately ignore votes. */
  readonly checkQuorum: boolean
}

/**
 * Time is ticks: the agent decides how long a tick is. With a 50 ms tick a
 * follower campaigns after 0.5–1 s of silence and the leader heartbeats every
 * 50 ms, which is what makes failover in about a second possible.
 */
export const RAFT_DEFAULTS: RaftConfig = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflight: 256,
  maxEntriesPerAppend: 512,
  maxBytesPerAppend: 1024 * 1024,
  preVote: true,
  checkQuorum: true
})

export function resolveRaftConfig (init: Partial<RaftConfig> = {}): RaftConfig {
  const cfg = { ...RAFT_DEFAULTS, ...init }
  const problems: string[] = []
  for (const key of ['electionTicks', 'heartbeatTicks', 'maxInflight', 'maxEntriesPerAppend', 'maxBytesPerAppend'] as const) {
    if (!Number.isSafeInteger(cfg[key]) || cfg[key] < 1) problems.push(`${key} must be a positive integer, got ${String(cfg[key])}`)
  }
  if (cfg.electionTicks <= cfg.heartbeatTicks) problems.push('electionTicks must exceed heartbeatTicks')
  if (problems.length > 0) throw new InvalidConfigError(problems)
  return Object.freeze(cfg)
}
