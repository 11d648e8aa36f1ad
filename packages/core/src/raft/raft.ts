import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, PersistedState, ReadState, Ready, Role, Snapshot } from './types.ts'
import type { RaftConfig } from './config.ts'
import { RaftLog } from './log.ts'
import { Progress } from './progress.ts'
import { committedIndex, hasQuorum, voteResult } from './quorum.ts'
import { noopLogger, type Logger } from '../logger.ts'

export interface RaftNodeInit {
  readonly id: NodeId
  readonly config: RaftConfig
  /** What storage holds; for a brand-new cluster, `bootstrapState(...)` persisted first. */
  readonly persisted: PersistedState
  /** Uniform in [0, 1): randomised election timeouts. Inject a seeded one in tests. */
  readonly rng: () => number
  readonly logger?: Logger
}

export type RaftRefusal = 'NotLeader' | 'TransferInProgress' | 'ConfChangeInProgress' | 'InvalidConfChange'
export type ProposeResult =
  | { readonly ok: true, readonly index: number, readonly term: number }
  | { readonly ok: false, readonly reason: RaftRefusal, readonly leader: NodeId | null, readonly message: string }

export interface RaftStatus {
  readonly id: NodeId
  readonly term: number
  readonly role: Role
  readonly leader: NodeId | null
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly conf: ConfState
  /** Leader only: how far each member's log matches. */
  readonly progress: ReadonlyArray<{ readonly id: NodeId, readonly match: number, readonly next: number, readonly state: string }>
}

interface PendingRead { readonly ctx: string, readonly index: number, readonly acks: Set<NodeId> }

/** Ticks a snapshot may stay unanswered before the leader sends it again, in election timeouts. */
const SNAPSHOT_TIMEOUT_ELECTIONS = 3

/**
 * One Raft node as a deterministic state machine, after etcd's raft: inputs
 * are tick(), step(message), propose(...), readIndex(ctx); output is a Ready
 * batch that the driver persists, sends and applies before calling advance().
 * No clock, no randomness but the injected rng, no I/O, no async.
 *
 * Between ready() and advance() the node takes no input: the driver queues
 * what arrives meanwhile. That keeps the persisted, sent and applied views of
 * one Ready consistent.
 */
export class RaftNode {
  readonly id: NodeId
  readonly #cfg: RaftConfig
  readonly #rng: () => number
  readonly #log: RaftLog
  readonly #logger: Logger
  #term = 0
  #vote: NodeId | null = null
  #role: Role = 'follower'
  #leader: NodeId | null = null
  #voters = new Set<NodeId>()
  #learners = new Set<NodeId>()
  #progress = new Map<NodeId, Progress>()
  #snapshotAge = new Map<NodeId, number>()
  #votes = new Map<NodeId, boolean>()
  #electionElapsed = 0
  #heartbeatElapsed = 0
  #randomizedElectionTimeout = 0
  #pendingConfIndex = 0
  #transferee: NodeId | null = null
  #reads: PendingRead[] = []
  #readsAwaitingCommit: string[] = []
  #readStates: ReadState[] = []
  #msgs: Message[] = []
  #snapshot: Snapshot | null
  #prevHard: HardState
  #prevSoft = ''
  #inReady = false
  /** New entries or a new commit index wait to go out: one append per follower per Ready. */
  #appendsDue = false

  constructor (init: RaftNodeInit) {
    this.id = init.id
    this.#cfg = init.config
    this.#rng = init.rng
    this.#logger = init.logger ?? noopLogger
    const { hardState, snapshot, entries } = init.persisted
    this.#log = new RaftLog(snapshot, entries, hardState.commit)
    this.#snapshot = snapshot
    this.#term = hardState.term
    this.#vote = hardState.vote
    this.#prevHard = hardState
    this.#setConf(snapshot?.conf ?? { voters: [], learners: [] })
    this.#becomeFollower(this.#term, null)
  }

  // ── inputs ──────────────────────────────────────────────────────────────

  tick (): void {
    this.#assertNotInReady()
    if (this.#role === 'leader') this.#tickLeader()
    else this.#tickElection()
  }

  step (m: Message): void {
    this.#assertNotInReady()
    if (m.to !== this.id) return
    if (m.term > this.#term) {
      if (m.type === 'vote' && !m.transfer && this.#inLease()) return
      const keepTerm = (m.type === 'vote' && m.pre) || (m.type === 'voteResp' && m.pre && m.granted)
      if (!keepTerm) {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot'
        this.#becomeFollower(m.term, fromLeader ? m.from : null)
      }
    } else if (m.term < this.#term) {
      if ((this.#cfg.checkQuorum || this.#cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // Tell a stale leader about the newer term so it steps down.
        this.#send({ type: 'appendResp', from: this.id, to: m.from, term: this.#term, reject: true, index: 0, hintIndex: 0, hintTerm: 0 })
      } else if (m.type === 'vote' && m.pre) {
        this.#send({ type: 'voteResp', from: this.id, to: m.from, term: this.#term, granted: false, pre: true })
      }
      return
    }
    if (m.type === 'vote') {
      this.#handleVote(m)
      return
    }
    switch (this.#role) {
      case 'leader': this.#stepLeader(m); break
      case 'candidate':
      case 'preCandidate': this.#stepCandidate(m); break
      case 'follower': this.#stepFollower(m); break
    }
  }

  /** Append `data` to the log, if we lead. Committed when it comes out of a Ready's `committed` with this index and term. */
  propose (data: string): ProposeResult {
    this.#assertNotInReady()
    const refused = this.#refuseProposal()
    if (refused !== undefined) return refused
    const index = this.#log.lastIndex() + 1
    this.#appendEntries([{ term: this.#term, index, type: 'normal', data }])
    return { ok: true, index, term: this.#term }
  }

  /** Propose many at once: one log append, one round of messages. */
  proposeBatch (data: readonly string[]): ProposeResult {
    this.#assertNotInReady()
    const refused = this.#refuseProposal()
    if (refused !== undefined) return refused
    const first = this.#log.lastIndex() + 1
    this.#appendEntries(data.map((d, i) => ({ term: this.#term, index: first + i, type: 'normal' as const, data: d })))
    return { ok: true, index: first, term: this.#term }
  }

  /** One membership change at a time; it takes effect on every node when its entry is applied. */
  proposeConfChange (change: ConfChange): ProposeResult {
    this.#assertNotInReady()
    const refused = this.#refuseProposal()
    if (refused !== undefined) return refused
    if (this.#pendingConfIndex > this.#log.applied) {
      return { ok: false, reason: 'ConfChangeInProgress', leader: this.id, message: 'another membership change is still being applied' }
    }
    const invalid = this.#checkConfChange(change)
    if (invalid !== undefined) return { ok: false, reason: 'InvalidConfChange', leader: this.id, message: invalid }
    const index = this.#log.lastIndex() + 1
    this.#pendingConfIndex = index
    this.#appendEntries([{ term: this.#term, index, type: 'conf', change }])
    return { ok: true, index, term: this.#term }
  }

  /**
   * Ask for a linearizable read point (§6.4 ReadIndex). When a quorum has
   * confirmed this leader is still the leader, a ReadState with `ctx` comes
   * out of a Ready; reads may be served once `index` is applied.
   */
  readIndex (ctx: string): ProposeResult {
    this.#assertNotInReady()
    if (this.#role !== 'leader') return { ok: false, reason: 'NotLeader', leader: this.#leader, message: 'not the leader' }
    if (this.#log.term(this.#log.committed) !== this.#term) {
      // A new leader does not know the commit index until an entry of its own term commits.
      this.#readsAwaitingCommit.push(ctx)
    } else if (this.#voters.size === 1 && this.#voters.has(this.id)) {
      this.#readStates.push({ index: this.#log.committed, ctx })
    } else {
      this.#reads.push({ ctx, index: this.#log.committed, acks: new Set([this.id]) })
      this.#bcastHeartbeat(ctx)
    }
    return { ok: true, index: this.#log.committed, term: this.#term }
  }

  /** Hand leadership to `to` (a voter): it catches up, then campaigns at once. */
  transferLeadership (to: NodeId): ProposeResult {
    this.#assertNotInReady()
    if (this.#role !== 'leader') return { ok: false, reason: 'NotLeader', leader: this.#leader, message: 'not the leader' }
    if (to === this.id) return { ok: true, index: this.#log.lastIndex(), term: this.#term }
    if (!this.#voters.has(to)) return { ok: false, reason: 'InvalidConfChange', leader: this.id, message: `${to} is not a voter` }
    this.#transferee = to
    this.#electionElapsed = 0
    const pr = this.#progress.get(to)!
    if (pr.match === this.#log.lastIndex()) this.#sendTimeoutNow(to)
    else this.#sendAppend(to, true)
    return { ok: true, index: this.#log.lastIndex(), term: this.#term }
  }

  /**
   * The connection to `id` is gone (its process died, most likely). If it is
   * our leader, stop honouring its lease and campaign within a few ticks
   * instead of a whole election timeout. Pre-vote keeps this harmless when only
   * our link broke: the others still hear the leader and refuse.
   */
  peerLost (id: NodeId): void {
    this.#assertNotInReady()
    if (this.#role !== 'follower' || this.#leader !== id) return
    this.#leader = null
    // Every follower saw the same loss at about the same time: stagger them by
    // their rank among the remaining voters, two ticks apart, so their
    // campaigns do not split the vote (random offsets collide too often).
    const rank = [...this.#voters].filter(v => v !== id).sort().indexOf(this.id)
    const soon = 1 + 2 * Math.max(0, rank)
    this.#electionElapsed = Math.max(this.#electionElapsed, this.#randomizedElectionTimeout - soon)
  }

  /** Start an election now (tests, and a lone node at boot). */
  campaign (): void {
    this.#assertNotInReady()
    this.#hup(false)
  }

  /**
   * The application's state at the applied index becomes the snapshot; the
   * log before it is dropped. The driver persists the returned snapshot.
   */
  compact (data: string): Snapshot {
    this.#assertNotInReady()
    const index = this.#log.applied
    const snapshot: Snapshot = { index, term: this.#log.term(index) ?? 0, conf: this.conf(), data }
    this.#log.compact(index)
    this.#snapshot = snapshot
    return snapshot
  }

  /** The transport could not deliver a snapshot to `to`: retry later from probing. */
  reportSnapshotFailure (to: NodeId): void {
    const pr = this.#progress.get(to)
    if (pr?.state === 'snapshot') pr.becomeProbe()
  }

  // ── outputs ─────────────────────────────────────────────────────────────

  hasReady (): boolean {
    return this.#appendsDue || this.#msgs.length > 0 || this.#readStates.length > 0 || this.#log.pendingSnapshot !== null ||
      this.#log.stable < this.#log.lastIndex() || this.#log.committed > this.#log.applied ||
      !sameHardState(this.#hardState(), this.#prevHard) || this.#softKey() !== this.#prevSoft
  }

  ready (): Ready {
    this.#assertNotInReady()
    if (this.#appendsDue) {
      this.#appendsDue = false
      if (this.#role === 'leader') this.#bcastAppend()
    }
    const hs = this.#hardState()
    const soft = this.#softKey() !== this.#prevSoft ? { role: this.#role, leader: this.#leader, term: this.#term } : null
    const rd: Ready = {
      hardState: sameHardState(hs, this.#prevHard) ? null : hs,
      snapshot: this.#log.pendingSnapshot,
      entries: this.#log.unstableEntries(),
      committed: this.#log.nextCommitted(),
      messages: this.#msgs,
      readStates: this.#readStates,
      soft
    }
    this.#msgs = []
    this.#readStates = []
    this.#prevSoft = this.#softKey()
    this.#inReady = true
    return rd
  }

  /** The driver persisted, sent and applied `rd`. */
  advance (rd: Ready): void {
    if (!this.#inReady) throw new Error('advance() without a ready()')
    this.#inReady = false
    if (rd.hardState !== null) this.#prevHard = rd.hardState
    if (rd.snapshot !== null && this.#log.pendingSnapshot === rd.snapshot) this.#log.pendingSnapshot = null
    const last = rd.entries.at(-1)
    if (last !== undefined && this.#log.term(last.index) === last.term) this.#log.stable = Math.max(this.#log.stable, last.index)
    for (const e of rd.committed) {
      this.#log.applied = e.index
      if (e.type === 'conf') this.#applyConfChange(e.change)
    }
  }

  // ── reads ───────────────────────────────────────────────────────────────

  get term (): number { return this.#term }
  get role (): Role { return this.#role }
  get leader (): NodeId | null { return this.#leader }
  get lastIndex (): number { return this.#log.lastIndex() }
  get committed (): number { return this.#log.committed }
  get applied (): number { return this.#log.applied }

  conf (): ConfState {
    return { voters: [...this.#voters].sort(), learners: [...this.#learners].sort() }
  }

  /** The entry at `index` if still in the log (for checks in tests). */
  entry (index: number): Entry | undefined { return this.#log.entry(index) }

  /** The latest snapshot: loaded at boot, made by compact(), or received from the leader. */
  snapshot (): Snapshot | null { return this.#snapshot }

  /** The term at `index`, or undefined when compacted away or beyond the end. */
  termAt (index: number): number | undefined { return this.#log.term(index) }

  status (): RaftStatus {
    return {
      id: this.id,
      term: this.#term,
      role: this.#role,
      leader: this.#leader,
      commit: this.#log.committed,
      applied: this.#log.applied,
      lastIndex: this.#log.lastIndex(),
      conf: this.conf(),
      progress: [...this.#progress].map(([id, pr]) => ({ id, match: pr.match, next: pr.next, state: pr.state })).sort((a, b) => a.id < b.id ? -1 : 1)
    }
  }

  // ── roles ───────────────────────────────────────────────────────────────

  #reset (term: number): void {
    if (term !== this.#term) {
      this.#term = term
      this.#vote = null
    }
    this.#leader = null
    this.#electionElapsed = 0
    this.#heartbeatElapsed = 0
    this.#randomizedElectionTimeout = this.#cfg.electionTicks + Math.floor(this.#rng() * this.#cfg.electionTicks)
    this.#transferee = null
    this.#votes.clear()
    this.#progress.clear()
    this.#snapshotAge.clear()
    this.#reads = []
    this.#readsAwaitingCommit = []
  }

  #becomeFollower (term: number, leader: NodeId | null): void {
    const was = this.#role
    this.#reset(term)
    this.#role = 'follower'
    this.#leader = leader
    if (was !== 'follower') this.#logger.info({ term, leader }, 'became follower')
  }

  #becomePreCandidate (): void {
    // Pre-vote changes neither the term nor the vote (§9.6).
    this.#role = 'preCandidate'
    this.#votes.clear()
    this.#leader = null
  }

  #becomeCandidate (): void {
    this.#reset(this.#term + 1)
    this.#vote = this.id
    this.#role = 'candidate'
  }

  #becomeLeader (): void {
    this.#reset(this.#term)
    this.#role = 'leader'
    this.#leader = this.id
    for (const id of [...this.#voters, ...this.#learners]) this.#progress.set(id, new Progress(this.#log.lastIndex() + 1, this.#cfg.maxInflight))
    const self = this.#progress.get(this.id)
    if (self !== undefined) {
      self.match = this.#log.lastIndex()
      self.becomeReplicate()
    }
    // No membership change until everything before this term is applied.
    this.#pendingConfIndex = this.#log.lastIndex()
    this.#logger.info({ term: this.#term }, 'became leader')
    // §5.4.2: commit an entry of our own term, which commits everything before it.
    this.#appendEntries([{ term: this.#term, index: this.#log.lastIndex() + 1, type: 'normal', data: '' }])
  }

  #hup (transfer: boolean): void {
    if (this.#role === 'leader' || !this.#voters.has(this.id)) return
    if (this.#log.pendingSnapshot !== null) return
    this.#campaign(this.#cfg.preVote && !transfer ? 'pre' : 'real', transfer)
  }

  #campaign (kind: 'pre' | 'real', transfer: boolean): void {
    if (kind === 'pre') this.#becomePreCandidate()
    else this.#becomeCandidate()
    const term = kind === 'pre' ? this.#term + 1 : this.#term
    this.#votes.set(this.id, true)
    if (this.#tallyVotes()) return
    for (const v of this.#voters) {
      if (v === this.id) continue
      this.#send({ type: 'vote', from: this.id, to: v, term, lastIndex: this.#log.lastIndex(), lastTerm: this.#log.lastTerm(), pre: kind === 'pre', transfer })
    }
  }

  /** Returns true when the election is decided. */
  #tallyVotes (): boolean {
    const result = voteResult([...this.#voters], this.#votes)
    if (result === 'won') {
      if (this.#role === 'preCandidate') this.#campaign('real', false)
      else this.#becomeLeader()
      return true
    }
    if (result === 'lost') {
      this.#becomeFollower(this.#term, null)
      return true
    }
    return false
  }

  #inLease (): boolean {
    return this.#cfg.checkQuorum && this.#leader !== null && this.#electionElapsed < this.#cfg.electionTicks
  }

  // ── ticks ───────────────────────────────────────────────────────────────

  #tickElection (): void {
    this.#electionElapsed++
    if (this.#voters.has(this.id) && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0
      this.#hup(false)
    }
  }

  #tickLeader (): void {
    this.#heartbeatElapsed++
    this.#electionElapsed++
    for (const [id, age] of this.#snapshotAge) {
      if (age + 1 >= this.#cfg.electionTicks * SNAPSHOT_TIMEOUT_ELECTIONS) this.reportSnapshotFailure(id)
      else this.#snapshotAge.set(id, age + 1)
    }
    if (this.#electionElapsed >= this.#cfg.electionTicks) {
      this.#electionElapsed = 0
      if (this.#cfg.checkQuorum) {
        const active = new Set([...this.#progress].filter(([id, pr]) => id === this.id || pr.recentActive).map(([id]) => id))
        for (const pr of this.#progress.values()) pr.recentActive = false
        if (!hasQuorum([...this.#voters], active)) {
          this.#logger.info({ term: this.#term }, 'lost contact with a quorum, stepping down')
          this.#becomeFollower(this.#term, null)
          return
        }
      }
      this.#transferee = null
    }
    if (this.#heartbeatElapsed >= this.#cfg.heartbeatTicks) {
      this.#heartbeatElapsed = 0
      this.#bcastHeartbeat('')
    }
  }

  // ── message handling ────────────────────────────────────────────────────

  #handleVote (m: Extract<Message, { type: 'vote' }>): void {
    const canVote = this.#vote === m.from || (this.#vote === null && this.#leader === null) || (m.pre && m.term > this.#term)
    if (canVote && this.#log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.#send({ type: 'voteResp', from: this.id, to: m.from, term: m.term, granted: true, pre: m.pre })
      if (!m.pre) {
        this.#electionElapsed = 0
        this.#vote = m.from
      }
    } else {
      this.#send({ type: 'voteResp', from: this.id, to: m.from, term: this.#term, granted: false, pre: m.pre })
    }
  }

  #stepFollower (m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.#electionElapsed = 0
        this.#leader = m.from
        if (m.type === 'append') this.#handleAppend(m)
        else if (m.type === 'heartbeat') this.#handleHeartbeat(m)
        else this.#handleSnapshot(m)
        break
      case 'timeoutNow':
        this.#hup(true)
        break
      default:
        break
    }
  }

  #stepCandidate (m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader exists for our term: follow it.
        this.#becomeFollower(m.term, m.from)
        this.#stepFollower(m)
        break
      case 'voteResp':
        if (m.pre !== (this.#role === 'preCandidate')) return
        this.#votes.set(m.from, m.granted)
        this.#tallyVotes()
        break
      default:
        break
    }
  }

  #stepLeader (m: Message): void {
    const pr = this.#progress.get(m.from)
    if (pr === undefined) return
    switch (m.type) {
      case 'appendResp':
        pr.recentActive = true
        if (m.reject) {
          const hint = m.hintTerm > 0 ? this.#log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex
          if (pr.maybeDecrTo(m.index, hint)) {
            if (pr.state === 'replicate') pr.becomeProbe()
            this.#sendAppend(m.from, true)
          }
          return
        }
        {
          const wasPaused = pr.isPaused()
          if (!pr.maybeUpdate(m.index) && !(pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot)) return
          if (pr.state === 'probe') pr.becomeReplicate()
          else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
            this.#snapshotAge.delete(m.from)
            pr.becomeProbe()
            pr.becomeReplicate()
          }
          if (this.#maybeCommit()) this.#appendsDue = true
          else if (wasPaused) this.#sendAppend(m.from, true)
          while (this.#sendAppend(m.from, false)) { /* stream what is there */ }
          if (m.from === this.#transferee && pr.match === this.#log.lastIndex()) this.#sendTimeoutNow(m.from)
        }
        return
      case 'heartbeatResp':
        pr.recentActive = true
        pr.probeSent = false
        // Appends may have been lost: let one more through, whose answer shows where the follower is.
        if (pr.state === 'replicate' && pr.isPaused()) pr.inflight.shift()
        if (pr.match < this.#log.lastIndex()) this.#sendAppend(m.from, true)
        if (m.ctx !== '') this.#ackRead(m.ctx, m.from)
        return
      default:
        return
    }
  }

  #handleAppend (m: Extract<Message, { type: 'append' }>): void {
    if (m.prevIndex < this.#log.committed) {
      this.#send({ type: 'appendResp', from: this.id, to: m.from, term: this.#term, reject: false, index: this.#log.committed, hintIndex: 0, hintTerm: 0 })
      return
    }
    if (this.#log.matchTerm(m.prevIndex, m.prevTerm)) {
      this.#log.merge(m.entries)
      const lastNew = m.prevIndex + m.entries.length
      this.#log.commitTo(Math.min(m.commit, lastNew))
      this.#send({ type: 'appendResp', from: this.id, to: m.from, term: this.#term, reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 })
      return
    }
    const hintIndex = this.#log.findConflictByTerm(Math.min(m.prevIndex, this.#log.lastIndex()), m.prevTerm)
    this.#send({ type: 'appendResp', from: this.id, to: m.from, term: this.#term, reject: true, index: m.prevIndex, hintIndex, hintTerm: this.#log.term(hintIndex) ?? 0 })
  }

  #handleHeartbeat (m: Extract<Message, { type: 'heartbeat' }>): void {
    this.#log.commitTo(m.commit)
    this.#send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.#term, ctx: m.ctx })
  }

  #handleSnapshot (m: Extract<Message, { type: 'snapshot' }>): void {
    const s = m.snapshot
    if (s.index <= this.#log.committed) {
      // Nothing new in it.
    } else if (this.#log.matchTerm(s.index, s.term)) {
      this.#log.commitTo(s.index)
    } else {
      this.#logger.info({ index: s.index, term: s.term }, 'restoring snapshot from the leader')
      this.#log.restore(s)
      this.#snapshot = s
      this.#setConf(s.conf)
    }
    this.#send({ type: 'appendResp', from: this.id, to: m.from, term: this.#term, reject: false, index: this.#log.committed, hintIndex: 0, hintTerm: 0 })
  }

  // ── leader helpers ──────────────────────────────────────────────────────

  #refuseProposal (): ProposeResult | undefined {
    if (this.#role !== 'leader') return { ok: false, reason: 'NotLeader', leader: this.#leader, message: 'not the leader' }
    if (this.#transferee !== null) return { ok: false, reason: 'TransferInProgress', leader: this.id, message: `leadership is moving to ${this.#transferee}` }
    return undefined
  }

  #appendEntries (entries: readonly Entry[]): void {
    this.#log.appendNew(entries)
    const self = this.#progress.get(this.id)
    self?.maybeUpdate(this.#log.lastIndex())
    this.#maybeCommit()
    this.#appendsDue = true
  }

  #maybeCommit (): boolean {
    const ci = committedIndex([...this.#voters].map(v => this.#progress.get(v)?.match ?? 0))
    if (ci <= this.#log.committed || this.#log.term(ci) !== this.#term) return false
    this.#log.commitTo(ci)
    if (this.#readsAwaitingCommit.length > 0) {
      const waiting = this.#readsAwaitingCommit
      this.#readsAwaitingCommit = []
      for (const ctx of waiting) this.readIndex(ctx)
    }
    return true
  }

  #bcastAppend (): void {
    for (const id of this.#progress.keys()) if (id !== this.id) this.#sendAppend(id, true)
  }

  #bcastHeartbeat (ctx: string): void {
    for (const [id, pr] of this.#progress) {
      if (id === this.id) continue
      this.#send({ type: 'heartbeat', from: this.id, to: id, term: this.#term, commit: Math.min(pr.match, this.#log.committed), ctx })
    }
  }

  /** Returns whether a message was sent. */
  #sendAppend (to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.#progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.#log.term(prevIndex)
    const entries = this.#log.slice(pr.next, this.#cfg.maxEntriesPerAppend, this.#cfg.maxBytesPerAppend)
    if (prevTerm === undefined || entries === undefined) return this.#sendSnapshot(to, pr)
    if (entries.length === 0 && !sendIfEmpty) return false
    this.#send({ type: 'append', from: this.id, to, term: this.#term, prevIndex, prevTerm, entries, commit: this.#log.committed })
    pr.sentAppend(prevIndex + entries.length, entries.length)
    return true
  }

  #sendSnapshot (to: NodeId, pr: Progress): boolean {
    const snapshot = this.#snapshot
    if (snapshot === null) throw new Error(`log compacted to ${this.#log.snapshotIndex} without a snapshot`)
    this.#send({ type: 'snapshot', from: this.id, to, term: this.#term, snapshot })
    pr.becomeSnapshot(snapshot.index)
    this.#snapshotAge.set(to, 0)
    return true
  }

  #sendTimeoutNow (to: NodeId): void {
    this.#send({ type: 'timeoutNow', from: this.id, to, term: this.#term })
  }

  #ackRead (ctx: string, from: NodeId): void {
    const at = this.#reads.findIndex(r => r.ctx === ctx)
    if (at < 0) return
    const read = this.#reads[at]!
    read.acks.add(from)
    if (!hasQuorum([...this.#voters], read.acks)) return
    // Confirming one read confirms every read queued before it.
    for (const r of this.#reads.splice(0, at + 1)) this.#readStates.push({ index: r.index, ctx: r.ctx })
  }

  // ── membership ──────────────────────────────────────────────────────────

  #checkConfChange (c: ConfChange): string | undefined {
    const isVoter = this.#voters.has(c.node)
    const isLearner = this.#learners.has(c.node)
    switch (c.type) {
      case 'addVoter': return isVoter ? `${c.node} is already a voter` : undefined
      case 'addLearner': return isVoter ? `${c.node} is a voter; remove it first` : isLearner ? `${c.node} is already a learner` : undefined
      case 'remove':
        if (!isVoter && !isLearner) return `${c.node} is not a member`
        if (isVoter && this.#voters.size === 1) return `${c.node} is the last voter`
        return undefined
    }
  }

  #applyConfChange (c: ConfChange): void {
    switch (c.type) {
      case 'addVoter': this.#learners.delete(c.node); this.#voters.add(c.node); break
      case 'addLearner': this.#learners.add(c.node); break
      case 'remove': this.#voters.delete(c.node); this.#learners.delete(c.node); break
    }
    this.#logger.info({ change: c, conf: this.conf() }, 'membership changed')
    if (this.#role !== 'leader') return
    for (const id of [...this.#voters, ...this.#learners]) {
      if (!this.#progress.has(id)) this.#progress.set(id, new Progress(this.#log.lastIndex() + 1, this.#cfg.maxInflight))
    }
    for (const id of [...this.#progress.keys()]) {
      if (!this.#voters.has(id) && !this.#learners.has(id) && id !== this.id) this.#progress.delete(id)
    }
    if (this.#transferee !== null && !this.#voters.has(this.#transferee)) this.#transferee = null
    if (!this.#voters.has(this.id)) {
      this.#becomeFollower(this.#term, null)
      return
    }
    if (this.#maybeCommit()) this.#bcastAppend()
  }

  #setConf (conf: ConfState): void {
    this.#voters = new Set(conf.voters)
    this.#learners = new Set(conf.learners)
  }

  // ── plumbing ────────────────────────────────────────────────────────────

  #send (m: Message): void {
    this.#msgs.push(m)
  }

  #hardState (): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed }
  }

  #softKey (): string {
    return `${this.#role}/${this.#leader ?? ''}/${this.#term}`
  }

  #assertNotInReady (): void {
    if (this.#inReady) throw new Error('the node takes no input between ready() and advance()')
  }
}

/**
 * The persisted state of a brand-new cluster whose first membership is
 * `conf`: its changes as the first log entries, term 1, committed. Every node
 * bootstrapped with the same `conf` starts from the same log. The driver must
 * persist this before starting the node: a node that lost its bootstrap would
 * rebuild its membership from a partial log.
 */
export function bootstrapState (conf: ConfState): PersistedState {
  const changes: ConfChange[] = [
    ...conf.voters.map(node => ({ type: 'addVoter' as const, node })),
    ...conf.learners.map(node => ({ type: 'addLearner' as const, node }))
  ]
  return {
    hardState: { term: 1, vote: null, commit: changes.length },
    snapshot: null,
    entries: changes.map((change, i) => ({ term: 1, index: i + 1, type: 'conf' as const, change }))
  }
}

function sameHardState (a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
