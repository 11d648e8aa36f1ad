import type { NodeId } from './types.ts'

/**
 * The highest index a majority of `matches` has reached (§5.3): sort
 * descending and take the element at position ⌊n/2⌋. An empty voter set
 * commits nothing.
 */
export function committedIndex (matches: readonly number[]): number {
  if (matches.length === 0) return 0
  const sorted = [...matches].sort((a, b) => b - a)
  return sorted[Math.floor(sorted.length / 2)]!
}

export type VoteResult = 'won' | 'lost' | 'pending'

/** Whether `votes` (granted or refused, by voter) already decide an election among `voters`. */
export function voteResult (voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const quorum = Math.floor(voters.length / 2) + 1
  let granted = 0
  let refused = 0
  for (const v of voters) {
    const vote = votes.get(v)
    if (vote === true) granted++
    else if (vote === false) refused++
  }
  if (granted >= quorum) return 'won'
  if (voters.length - refused < quorum) return 'lost'
  return 'pending'
}

/** Whether `acks` contain a majority of `voters`. */
export function hasQuorum (voters: readonly NodeId[], acks: ReadonlySet<NodeId>): boolean {
  let n = 0
  for (const v of voters) if (acks.has(v)) n++
  return n >= Math.floor(voters.length / 2) + 1
}
