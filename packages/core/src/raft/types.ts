/**
 * The Raft core's vocabulary. Plain JSON data throughout: entries and messages
 * cross the network and the disk as they are, and the agent validates them on
 * arrival. Raft indexes and terms start at 1; 0 means "none".
 */

/** A node's id: its member name. */
export type NodeId = string

export interface ConfState {
  /** Members that vote and count towards quorums. */
  readonly voters: readonly NodeId[]
  /** Members that receive the log but do not vote. */
  readonly learners: readonly NodeId[]
}

/** One membership change, applied when its entry commits. Changes go one at a time. */
export type ConfChange =
  | { readonly type: 'addVoter', readonly node: NodeId }
  | { readonly type: 'addLearner', readonly node: NodeId }
  | { readonly type: 'remove', readonly node: NodeId }

export type Entry =
  | { readonly term: number, readonly index: number, readonly type: 'normal', readonly data: string }
  | { readonly term: number, readonly index: number, readonly type: 'conf', readonly change: ConfChange }

/** What must reach disk before a node answers a vote or acknowledges an append. */
export interface HardState {
  readonly term: number
  readonly vote: NodeId | null
  readonly commit: number
}

/** The state machine at `index` (term `term`), with the membership in force there. */
export interface Snapshot {
  readonly index: number
  readonly term: number
  readonly conf: ConfState
  /** The application's serialised state, opaque to Raft. */
  readonly data: string
}

/** What a restarted node loads from its storage. */
export interface PersistedState {
  readonly hardState: HardState
  readonly snapshot: Snapshot | null
  /** Entries after the snapshot, in order, contiguous. */
  readonly entries: readonly Entry[]
}

export type Message =
  | { readonly type: 'vote', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly lastIndex: number, readonly lastTerm: number, readonly pre: boolean, readonly transfer: boolean }
  | { readonly type: 'voteResp', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly granted: boolean, readonly pre: boolean }
  | { readonly type: 'append', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly prevIndex: number, readonly prevTerm: number, readonly entries: readonly Entry[], readonly commit: number }
  | { readonly type: 'appendResp', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly reject: boolean, readonly index: number, readonly hintIndex: number, readonly hintTerm: number }
  | { readonly type: 'heartbeat', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly commit: number, readonly ctx: string }
  | { readonly type: 'heartbeatResp', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly ctx: string }
  | { readonly type: 'snapshot', readonly from: NodeId, readonly to: NodeId, readonly term: number, readonly snapshot: Snapshot }
  | { readonly type: 'timeoutNow', readonly from: NodeId, readonly to: NodeId, readonly term: number }

export type MessageType = Message['type']

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** A linearizable read point: once the state machine has applied `index`, reads for `ctx` may be served. */
export interface ReadState {
  readonly index: number
  readonly ctx: string
}

/**
 * What the node asks of its driver, in this order: persist `hardState`,
 * `snapshot` and `entries` (synced), then send `messages`, then apply
 * `snapshot` and `committed`, then call `advance(ready)`.
 */
export interface Ready {
  readonly hardState: HardState | null
  readonly snapshot: Snapshot | null
  readonly entries: readonly Entry[]
  readonly committed: readonly Entry[]
  readonly messages: readonly Message[]
  readonly readStates: readonly ReadState[]
  /** Role and leader, when either changed since the last Ready. */
  readonly soft: { readonly role: Role, readonly leader: NodeId | null, readonly term: number } | null
}
