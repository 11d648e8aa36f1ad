/** What a member says about itself in every heartbeat. */
export interface MemberInfo {
  /** Node name, unique in the cluster (defaults to the hostname). */
  readonly name: string
  /** libp2p peer id (base58), stable across restarts: the key lives in the data dir. */
  readonly peerId: string
  /** Mesh multiaddrs others should dial, e.g. `/ip4/10.0.0.5/tcp/7946`. */
  readonly addrs: readonly string[]
  /** `HOST:PORT` of the member's HTTP API. */
  readonly api: string
  /** What the node offers; `pods` is its --max-pods (110 when absent: an older agent's heartbeat). */
  readonly capacity: { readonly cpus: number, readonly memoryBytes: number, readonly pods?: number }
  /** Agent version, e.g. `0.1.0`. */
  readonly version: string
  /** The last index of its Raft log, as it reports it. */
  readonly raftIndex?: number
  /** Whether its container runtime answers; absent from agents that run no kubelet. */
  readonly runtime?: RuntimeHealth
  /** Services its proxy could not listen for; absent when there are none. */
  readonly proxy?: ProxyHealth
}

/** What a member's service proxy failed at: a Service's status names the nodes that do not serve it, and why. */
export interface ProxyHealth {
  /** At most 32: `service` is `namespace/name`, `message` the listen error. */
  readonly failures: ReadonlyArray<{ readonly service: string, readonly message: string }>
}

/** A member's container runtime as its kubelet last saw it: Ready=False on its Node when down. */
export interface RuntimeHealth {
  readonly ready: boolean
  /** Why it is not ready (`cannot reach the Docker engine at /var/run/docker.sock: connect ENOENT`). */
  readonly message?: string
  /**
   * The engine's own ID (Docker's `info` ID), once known. Agents that share
   * one engine (several agents on one host) reach each other's pods at their
   * pod IPs, as their own: the service proxy skips Docker's port publishing.
   */
  readonly engine?: string
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export interface Member extends MemberInfo {
  readonly state: MemberState
  /** Raised only by the member itself: to refute suspicion, or at every start. */
  readonly incarnation: number
  /** When we last had first-hand evidence (a heartbeat) of it, ms since epoch. */
  readonly lastSeenMs: number
  /** When it entered its current state, ms since epoch. */
  readonly stateSinceMs: number
  /** Set when `left`: whether it left for good or only stopped. */
  readonly leaveReason?: LeaveReason
}

/** Why a member departed: `leave` forgets the cluster, `shutdown` is a graceful stop. */
export type LeaveReason = 'leave' | 'shutdown'

/**
 * Messages on the membership gossip topic. Plain JSON; the agent validates each
 * one on arrival (see `parseGossipMessage`) before it reaches the table.
 * `alive` and `leave` are only accepted from the member they describe.
 */
export type GossipMessage =
  | { readonly type: 'alive', readonly info: MemberInfo, readonly incarnation: number }
  | { readonly type: 'suspect', readonly name: string, readonly incarnation: number, readonly from: string }
  | { readonly type: 'dead', readonly name: string, readonly incarnation: number, readonly from: string }
  | { readonly type: 'leave', readonly name: string, readonly incarnation: number, readonly reason: LeaveReason }

export interface MemberChange {
  readonly name: string
  readonly from: MemberState | undefined
  readonly to: MemberState
}

/** What the table asks of its caller after an input: gossip to publish, transitions that happened. */
export interface MemberOutput {
  readonly broadcasts: GossipMessage[]
  readonly changes: MemberChange[]
}
