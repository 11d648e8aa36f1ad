import type { Entry, HardState, Message, NodeId, PersistedState, ReadState, Snapshot } from '../raft/types.ts'
import { resolveRaftConfig, type RaftConfig } from '../raft/config.ts'
import { RaftNode, bootstrapState, type ProposeResult } from '../raft/raft.ts'
import { seededRandom, randomInt } from '../rand.ts'

/**
 * A deterministic cluster of Raft nodes in one process, for simulation tests:
 * a seeded network that drops, delays, reorders and duplicates messages and
 * can be partitioned; nodes that crash and lose whatever they had not synced;
 * a key-value state machine on every node; and checks of Raft's safety
 * properties after every step. The same seed replays the same run.
 */

export interface SimOptions {
  readonly seed: number
  readonly voters: readonly NodeId[]
  readonly learners?: readonly NodeId[]
  readonly config?: Partial<RaftConfig>
  /** Probability a message is lost. */
  readonly dropRate?: number
  /** Probability a message is delivered twice. */
  readonly dupRate?: number
  /** Delivery delay in ticks, uniform in [minDelay, maxDelay]; unequal delays reorder. */
  readonly minDelay?: number
  readonly maxDelay?: number
  /** Probability that a node postpones handling its Ready in a round (slow disk): unsynced state piles up. */
  readonly slowDiskRate?: number
  /** Compact the log after this many applied entries (0: never). */
  readonly compactEvery?: number
}

/** What a node has on "disk": only what a Ready told it to persist. */
class SimStorage {
  hardState: HardState = { term: 0, vote: null, commit: 0 }
  snapshot: Snapshot | null = null
  entries: Entry[] = []

  load (): PersistedState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] }
  }

  saveSnapshot (s: Snapshot): void {
    if (this.snapshot !== null && s.index <= this.snapshot.index) return
    this.snapshot = s
    this.entries = this.entries.filter(e => e.index > s.index)
  }

  append (entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0]!.index
    this.entries = this.entries.filter(e => e.index < first).concat(entries)
  }
}

/** The replicated state machine: a key-value map. Commands are JSON in entry data. */
export type KvCommand = { readonly op: 'put', readonly key: string, readonly value: string } | { readonly op: 'cas', readonly key: string, readonly expected: string | null, readonly value: string }

export interface SimNode {
  readonly id: NodeId
  raft: RaftNode
  readonly storage: SimStorage
  alive: boolean
  kv: Map<string, string>
  applied: number
  /** Proposals' outcomes as this node applied them: index → whether a cas swapped. */
  readonly results: Map<number, boolean>
  readonly readStates: ReadState[]
}

interface InFlight { readonly at: number, readonly seq: number, readonly msg: Message }

export class SimCluster {
  readonly nodes = new Map<NodeId, SimNode>()
  readonly config: RaftConfig
  now = 0
  #opts: Required<Omit<SimOptions, 'learners' | 'config'>>
  readonly #rng: () => number
  #inflight: InFlight[] = []
  #seq = 0
  readonly #cut = new Set<string>()
  readonly #leaderOfTerm = new Map<number, NodeId>()
  /** index → `term|data` of the entry every node applied there (state machine safety). */
  readonly #appliedAt = new Map<number, string>()
  /** `index:term` → `prevTerm|content` of every entry any node persisted (log matching). */
  readonly #entryAt = new Map<string, string>()
  #maxApplied = 0

  constructor (opts: SimOptions) {
    this.#opts = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 1, slowDiskRate: 0, compactEvery: 0, ...opts }
    this.#rng = seededRandom(opts.seed)
    this.config = resolveRaftConfig(opts.config)
    const boot = bootstrapState({ voters: [...opts.voters], learners: [...(opts.learners ?? [])] })
    for (const id of [...opts.voters, ...(opts.learners ?? [])]) {
      const storage = new SimStorage()
      storage.hardState = boot.hardState
      storage.entries = [...boot.entries]
      this.nodes.set(id, { id, raft: new RaftNode({ id, config: this.config, persisted: storage.load(), rng: this.#nodeRng() }), storage, alive: true, kv: new Map(), applied: 0, results: new Map(), readStates: [] })
    }
  }

  /** Add a node that knows nothing yet (to be added by a conf change). */
  addNode (id: NodeId): SimNode {
    const storage = new SimStorage()
    const node: SimNode = { id, raft: new RaftNode({ id, config: this.config, persisted: storage.load(), rng: this.#nodeRng() }), storage, alive: true, kv: new Map(), applied: 0, results: new Map(), readStates: [] }
    this.nodes.set(id, node)
    return node
  }

  node (id: NodeId): SimNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  // ── time ────────────────────────────────────────────────────────────────

  /** One tick: every live node ticks, due messages are delivered, Readies handled, invariants checked. */
  tick (): void {
    this.now++
    for (const n of this.nodes.values()) if (n.alive) n.raft.tick()
    this.#processReadies(false)
    this.#deliverDue()
    this.#processReadies(false)
  }

  /** Tick until `cond` holds; throws after `maxTicks`. Returns the ticks taken. */
  tickUntil (cond: () => boolean, maxTicks: number, what = 'condition', describe?: () => string): number {
    for (let i = 0; i <= maxTicks; i++) {
      if (cond()) return i
      this.tick()
    }
    throw new Error(`${what} not reached within ${maxTicks} ticks (seed ${this.#opts.seed}, now ${this.now})${describe !== undefined ? `: ${describe()}` : ''}`)
  }

  /** Deliver everything in flight and handle every Ready, with no more ticks, until quiet. */
  stabilize (maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.#processReadies(true)
      if (this.#inflight.length === 0) return
      const next = Math.min(...this.#inflight.map(f => f.at))
      this.now = Math.max(this.now, next)
      this.#deliverDue()
    }
    throw new Error(`no quiescence after ${maxRounds} rounds (seed ${this.#opts.seed})`)
  }

  // ── faults ──────────────────────────────────────────────────────────────

  cut (a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}|${b}`)
    this.#cut.add(`${b}|${a}`)
  }

  isolate (id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other)
  }

  heal (): void {
    this.#cut.clear()
  }

  /** Change how bad the network and disks are from now on. */
  setFaults (faults: Pick<SimOptions, 'dropRate' | 'dupRate' | 'minDelay' | 'maxDelay' | 'slowDiskRate'>): void {
    this.#opts = { ...this.#opts, ...faults }
  }

  /** A number from the simulation's own seeded stream, for scenario scripts. */
  random (): number {
    return this.#rng()
  }

  /** The process dies: everything not yet persisted is gone. */
  crash (id: NodeId): void {
    const n = this.node(id)
    n.alive = false
  }

  /** Tell every live node that its connection to `id` closed (what a transport sees when a process dies). */
  reportLost (id: NodeId): void {
    for (const n of this.nodes.values()) if (n.alive && n.id !== id) n.raft.peerLost(id)
  }

  /** Start again from what is on disk. The state machine rebuilds from snapshot + log. */
  restart (id: NodeId): void {
    const n = this.node(id)
    n.raft = new RaftNode({ id, config: this.config, persisted: n.storage.load(), rng: this.#nodeRng() })
    n.kv = new Map()
    n.applied = 0
    if (n.storage.snapshot !== null) this.#restoreKv(n, n.storage.snapshot)
    n.alive = true
  }

  // ── clients ─────────────────────────────────────────────────────────────

  propose (id: NodeId, cmd: KvCommand): ProposeResult {
    return this.node(id).raft.propose(JSON.stringify(cmd))
  }

  /** The live leader with the highest term, if any. */
  leader (): NodeId | undefined {
    let best: SimNode | undefined
    for (const n of this.nodes.values()) {
      if (n.alive && n.raft.role === 'leader' && (best === undefined || n.raft.term > best.raft.term)) best = n
    }
    return best?.id
  }

  get maxApplied (): number { return this.#maxApplied }

  // ── internals ───────────────────────────────────────────────────────────

  #nodeRng (): () => number {
    return seededRandom(Math.floor(this.#rng() * 2 ** 32))
  }

  #processReadies (force: boolean): void {
    for (let round = 0; round < 100; round++) {
      let any = false
      for (const n of this.nodes.values()) {
        if (!n.alive || !n.raft.hasReady()) continue
        if (!force && this.#rng() < this.#opts.slowDiskRate) continue
        any = true
        this.#handleReady(n)
      }
      if (!any) return
    }
  }

  #handleReady (n: SimNode): void {
    const rd = n.raft.ready()
    // Persist first (synced), then send, then apply: the order the driver must keep.
    if (rd.snapshot !== null) n.storage.saveSnapshot(rd.snapshot)
    for (const e of rd.entries) this.#checkLogMatching(n, e)
    n.storage.append(rd.entries)
    if (rd.hardState !== null) n.storage.hardState = rd.hardState
    for (const m of rd.messages) this.#send(m)
    if (rd.snapshot !== null) this.#restoreKv(n, rd.snapshot)
    for (const e of rd.committed) this.#apply(n, e)
    n.readStates.push(...rd.readStates)
    if (rd.soft?.role === 'leader') this.#checkLeader(n, rd.soft.term)
    n.raft.advance(rd)
    if (this.#opts.compactEvery > 0 && n.applied - (n.storage.snapshot?.index ?? 0) >= this.#opts.compactEvery) {
      n.storage.saveSnapshot(n.raft.compact(this.#kvSnapshot(n)))
    }
  }

  #send (m: Message): void {
    if (this.#rng() < this.#opts.dropRate) return
    const copies = this.#rng() < this.#opts.dupRate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.#inflight.push({ at: this.now + randomInt(this.#rng, this.#opts.minDelay, this.#opts.maxDelay), seq: this.#seq++, msg: m })
    }
  }

  #deliverDue (): void {
    const due = this.#inflight.filter(f => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq)
    this.#inflight = this.#inflight.filter(f => f.at > this.now)
    for (const { msg } of due) {
      const to = this.nodes.get(msg.to)
      if (to === undefined || !to.alive || this.#cut.has(`${msg.from}|${msg.to}`)) continue
      to.raft.step(msg)
    }
  }

  #apply (n: SimNode, e: Entry): void {
    if (e.index !== n.applied + 1) throw new Error(`${n.id} applies ${e.index} after ${n.applied} (seed ${this.#opts.seed})`)
    const key = e.type === 'normal' ? `${e.term}|${e.data}` : `${e.term}|conf:${JSON.stringify(e.change)}`
    const seen = this.#appliedAt.get(e.index)
    if (seen === undefined) this.#appliedAt.set(e.index, key)
    else if (seen !== key) throw new Error(`state machine safety: ${n.id} applied ${key} at ${e.index}, another node applied ${seen} (seed ${this.#opts.seed})`)
    this.#maxApplied = Math.max(this.#maxApplied, e.index)
    n.applied = e.index
    if (e.type === 'normal' && e.data !== '') {
      const cmd = JSON.parse(e.data) as KvCommand
      if (cmd.op === 'put') n.kv.set(cmd.key, cmd.value)
      else {
        const swapped = (n.kv.get(cmd.key) ?? null) === cmd.expected
        if (swapped) n.kv.set(cmd.key, cmd.value)
        n.results.set(e.index, swapped)
      }
    }
  }

  #kvSnapshot (n: SimNode): string {
    return JSON.stringify({ applied: n.applied, kv: [...n.kv] })
  }

  #restoreKv (n: SimNode, s: Snapshot): void {
    const data = JSON.parse(s.data) as { applied: number, kv: Array<[string, string]> }
    n.kv = new Map(data.kv)
    n.applied = s.index
  }

  /** §5.2 election safety: at most one leader per term. §5.4 leader completeness: it holds every applied entry. */
  #checkLeader (n: SimNode, term: number): void {
    const prior = this.#leaderOfTerm.get(term)
    if (prior !== undefined && prior !== n.id) throw new Error(`election safety: ${prior} and ${n.id} both lead term ${term} (seed ${this.#opts.seed})`)
    this.#leaderOfTerm.set(term, n.id)
    const snapIndex = n.storage.snapshot?.index ?? 0
    for (let i = snapIndex + 1; i <= this.#maxApplied; i++) {
      const want = this.#appliedAt.get(i)!
      const e = n.raft.entry(i)
      if (e === undefined || !want.startsWith(`${e.term}|`)) {
        throw new Error(`leader completeness: leader ${n.id} of term ${term} lacks committed entry ${i} (seed ${this.#opts.seed})`)
      }
    }
  }

  /** §5.3 log matching: an (index, term) pair names one entry and one history before it. */
  #checkLogMatching (n: SimNode, e: Entry): void {
    const prev = n.raft.termAt(e.index - 1) ?? -1
    const content = `${prev}|${e.type === 'normal' ? e.data : JSON.stringify(e.change)}`
    const key = `${e.index}:${e.term}`
    const seen = this.#entryAt.get(key)
    if (seen === undefined) this.#entryAt.set(key, content)
    else if (prev >= 0 && !seen.startsWith('-1|') && seen !== content) {
      throw new Error(`log matching: entry ${key} on ${n.id} is ${content}, elsewhere ${seen} (seed ${this.#opts.seed})`)
    }
  }
}
