import type { ConfChange, ConfState, NodeId } from './types.ts'

/** What the voter planner needs to know about one member, from membership gossip. */
export interface MemberHealth {
  readonly name: NodeId
  readonly state: 'alive' | 'suspect' | 'dead' | 'left'
  /** Why it left: `leave` is for good; `shutdown` is a stop it may come back from. */
  readonly leaveReason?: 'leave' | 'shutdown'
  /** When it entered its state, ms. */
  readonly stateSinceMs: number
}

export interface VoterPlanInput {
  readonly self: NodeId
  readonly conf: ConfState
  readonly members: readonly MemberHealth[]
  /** Leader's view: how far each member's log matches. */
  readonly match: ReadonlyMap<NodeId, number>
  readonly lastIndex: number
  /** Voters wanted: 3 by default, 5 on request. */
  readonly target: number
  readonly now: number
  /** How long a voter may be down (dead, or stopped) before it is replaced, ms. */
  readonly graceMs: number
  /** A learner this many entries behind, or fewer, counts as caught up. */
  readonly maxLag: number
}

/**
 * The voter count the cluster should have: the target, but never more than
 * the healthy members can fill, and always odd. Two voters are worse than one
 * (both must be up for a quorum, so either failing stops writes), and four
 * are no safer than three; so 2 healthy members get 1 voter, 4 get 3.
 */
export function desiredVoters (healthy: number, target: number): number {
  const n = Math.max(1, Math.min(target, healthy))
  return n % 2 === 1 ? n : n - 1
}

/**
 * The next membership change the leader should make, or undefined. One change
 * at a time; called again once it is applied. In order:
 * 1. remove a member that left for good (a voter only if others remain);
 * 2. add a live member the log does not know yet, as a learner;
 * 3. promote a caught-up live learner while the live voters are fewer than wanted
 *    (a lost voter — down longer than the grace period — does not count as live);
 * 4. remove a lost voter once the live voters are enough without it;
 * 5. remove a learner that has been dead longer than the grace period.
 */
export function planVoterChange (input: VoterPlanInput): ConfChange | undefined {
  const { conf, now, graceMs } = input
  const byName = new Map(input.members.map(m => [m.name, m]))
  const voters = conf.voters
  const learners = conf.learners
  const inConf = new Set([...voters, ...learners])
  const leftForGood = (id: NodeId): boolean => {
    const m = byName.get(id)
    return m !== undefined && m.state === 'left' && m.leaveReason !== 'shutdown'
  }
  const lost = (id: NodeId): boolean => {
    if (id === input.self) return false
    const m = byName.get(id)
    if (m === undefined) return false
    if (leftForGood(id)) return true
    const down = m.state === 'dead' || (m.state === 'left' && m.leaveReason === 'shutdown')
    return down && now - m.stateSinceMs >= graceMs
  }
  const live = (id: NodeId): boolean => id === input.self || byName.get(id)?.state === 'alive'
  const caughtUp = (id: NodeId): boolean => (input.match.get(id) ?? 0) >= input.lastIndex - input.maxLag

  const departed = [...learners, ...voters].find(id => id !== input.self && leftForGood(id) && !(voters.includes(id) && voters.length === 1))
  if (departed !== undefined) return { type: 'remove', node: departed }

  const newcomer = input.members.filter(m => m.state === 'alive' && !inConf.has(m.name)).map(m => m.name).sort()[0]
  if (newcomer !== undefined) return { type: 'addLearner', node: newcomer }

  const liveVoters = voters.filter(v => !lost(v))
  const healthy = [...inConf].filter(live).length
  const want = desiredVoters(healthy, input.target)
  if (liveVoters.length < want) {
    const candidate = learners.filter(l => live(l) && caughtUp(l)).sort()[0]
    if (candidate !== undefined) return { type: 'addVoter', node: candidate }
  }

  const lostVoter = voters.filter(lost).sort()[0]
  if (lostVoter !== undefined && liveVoters.length >= want && voters.length > 1) return { type: 'remove', node: lostVoter }

  const lostLearner = learners.filter(lost).sort()[0]
  if (lostLearner !== undefined) return { type: 'remove', node: lostLearner }
  return undefined
}
