import type { NodeId } from '../raft/types.ts'
import type { RaftNode } from '../raft/raft.ts'
import type { KvCommand, SimCluster, SimNode } from './raft-sim.ts'
import type { KvInput, KvOutput, Operation } from './lincheck-kv.ts'
import { randomInt } from '../rand.ts'

/**
 * Clients of a SimCluster's key-value store, for linearizability tests. Each
 * client has at most one operation outstanding and records what it saw, as
 * a real client would, into a history for `checkKvHistory`:
 *
 * - put and cas are proposed on the node the client believes leads
 *   (following NotLeader hints). One completes when that node applies an
 *   entry at the proposal's index: with the proposal's term it is ours and
 *   took effect (a cas answers with whether it swapped); with another term
 *   ours can never commit (one entry per index commits), so the client
 *   proposes again, keeping the operation's call time. Nothing short of
 *   that is proof either way: an entry cut from the proposer's log may
 *   still commit from another node's copy (§5.4.2, Figure 8). So a proposer
 *   that crashes, restarts, or skips the index by installing a snapshot, and
 *   an operation that outlives its timeout, end with an unknown outcome, and
 *   are never retried, since a retry could take effect a second time.
 * - get goes through ReadIndex (§6.4): the leader hands out a read point
 *   once a quorum confirms it still leads; the value is read from the node's
 *   state machine once it has applied that point. A read point lost with a
 *   change of leadership is asked for again; a get has no effect, so
 *   retrying is always safe.
 * - With `reads: 'local'` a get instead returns whatever the node it asks
 *   has applied, with no check that the node is current. That is a stale
 *   read waiting to happen, there for showing that the checker notices.
 *
 * Time: `sim.now` in ticks. The sim does all its work inside `tick()`;
 * operations are invoked between ticks and completions are noticed after
 * one, by `step()`. So a return noticed after tick t is at 2t, and a call
 * made after that tick is at 2t + 1: an operation invoked after another
 * completed comes strictly after it, which is the order that stale reads
 * violate, and an operation always returns after its call.
 *
 * Pure and deterministic: every choice comes from the sim's seeded stream.
 */

export interface SimClientsOptions {
  /** How many clients; they are numbered from 0. */
  readonly clients: number
  /** Ticks after its call at which a client gives up on an operation and records its outcome as unknown. */
  readonly timeout: number
  /** How gets are served: 'readIndex' (linearizable) or 'local' (deliberately unsafe, see above). */
  readonly reads?: 'readIndex' | 'local'
}

/** The logical time of a call made between ticks at `sim.now === tick`. */
export function callTime (tick: number): number { return 2 * tick + 1 }

/** The logical time of a return noticed after the tick that made `sim.now === tick`. */
export function returnTime (tick: number): number { return 2 * tick }

/** Where an operation stands with the node it last asked; the node's RaftNode identifies the incarnation. */
type Attempt =
  | { readonly kind: 'propose', readonly node: NodeId, readonly raft: RaftNode, readonly index: number, readonly term: number }
  | { readonly kind: 'readIndex', readonly node: NodeId, readonly raft: RaftNode, readonly ctx: string, readonly term: number, readonly since: number }
  | { readonly kind: 'local', readonly node: NodeId, readonly raft: RaftNode }

interface Running {
  readonly input: KvInput
  readonly startTick: number
  /** The outstanding request; undefined while the client has to (re)send. */
  attempt: Attempt | undefined
}

interface Client {
  readonly id: number
  /** The node this client believes leads, from the last answer it got. */
  leader: NodeId | undefined
  op: Running | undefined
}

export class SimClients {
  readonly history: Operation[] = []
  readonly #sim: SimCluster
  readonly #timeout: number
  readonly #reads: 'readIndex' | 'local'
  readonly #clients: Client[]
  /** Per node, index → term of every entry it applied: what a server resolves its pending proposals with. */
  readonly #appliedTerms = new Map<NodeId, Map<number, number>>()
  readonly #tapped = new WeakSet<RaftNode>()
  /** Read points handed out by any node, by ctx (ctxs are unique), and how far each node's list was scanned. */
  readonly #readStates = new Map<string, number>()
  readonly #scanned = new Map<SimNode, number>()
  #ctxSeq = 0

  constructor (sim: SimCluster, opts: SimClientsOptions) {
    this.#sim = sim
    this.#timeout = opts.timeout
    this.#reads = opts.reads ?? 'readIndex'
    this.#clients = Array.from({ length: opts.clients }, (_, id) => ({ id, leader: undefined, op: undefined }))
    this.#tapAll()
  }

  get clients (): number { return this.#clients.length }

  idle (client: number): boolean {
    return this.#client(client).op === undefined
  }

  /** How many operations are outstanding. */
  get outstanding (): number {
    return this.#clients.filter(c => c.op !== undefined).length
  }

  /** Start an operation on an idle client, sent at once: to `via` if given (hints are followed from there). */
  invoke (client: number, input: KvInput, via?: NodeId): void {
    const c = this.#client(client)
    if (c.op !== undefined) throw new Error(`client ${client} already has an operation outstanding`)
    this.#tapAll()
    if (via !== undefined) c.leader = via
    c.op = { input, startTick: this.#sim.now, attempt: undefined }
    this.#send(c, c.op)
  }

  /** Call after every `sim.tick()`: notice completions, retry what must be retried, give up what timed out. */
  step (): void {
    this.#tapAll()
    this.#collectReadStates()
    for (const c of this.#clients) {
      const op = c.op
      if (op === undefined || this.#sim.now <= op.startTick) continue
      if (op.attempt !== undefined) this.#resolve(c, op, op.attempt)
      if (c.op !== op) continue
      if (this.#sim.now - op.startTick >= this.#timeout) this.#giveUp(c, op)
      else if (op.attempt === undefined) this.#send(c, op)
    }
  }

  /** Give up on everything outstanding (outcomes unknown). */
  abandonAll (): void {
    for (const c of this.#clients) if (c.op !== undefined) this.#giveUp(c, c.op)
  }

  // ── internals ───────────────────────────────────────────────────────────

  #client (id: number): Client {
    const c = this.#clients[id]
    if (c === undefined) throw new Error(`no client ${id}`)
    return c
  }

  /**
   * See every entry each node applies, with its term, as a server's apply
   * loop would. SimCluster has no hook for that, and `termAt` after the tick
   * can come too late: the node may have compacted the entry away in the
   * same tick. So each RaftNode's `ready` is wrapped (it is replaced on
   * restart, hence "every time"); the Ready itself passes through untouched.
   */
  #tapAll (): void {
    for (const n of this.#sim.nodes.values()) {
      const raft = n.raft
      if (this.#tapped.has(raft)) continue
      this.#tapped.add(raft)
      let terms = this.#appliedTerms.get(n.id)
      if (terms === undefined) this.#appliedTerms.set(n.id, terms = new Map())
      const seen = terms
      const ready = raft.ready.bind(raft)
      raft.ready = () => {
        const rd = ready()
        for (const e of rd.committed) seen.set(e.index, e.term)
        return rd
      }
    }
  }

  #collectReadStates (): void {
    for (const n of this.#sim.nodes.values()) {
      const from = this.#scanned.get(n) ?? 0
      for (let i = from; i < n.readStates.length; i++) {
        const rs = n.readStates[i]!
        this.#readStates.set(rs.ctx, rs.index)
      }
      this.#scanned.set(n, n.readStates.length)
    }
  }

  /** The node to ask: the believed leader, or any (a client knows every member). */
  #target (c: Client): NodeId {
    if (c.leader !== undefined) return c.leader
    const ids = [...this.#sim.nodes.keys()]
    return ids[randomInt(() => this.#sim.random(), 0, ids.length - 1)]!
  }

  /** Send the operation, following up to a few NotLeader hints; if nobody takes it, `step` tries again after the next tick. */
  #send (c: Client, op: Running): void {
    for (let hop = 0; hop < 3 && op.attempt === undefined; hop++) {
      const id = this.#target(c)
      const n = this.#sim.node(id)
      if (!n.alive) {
        // Connection refused: try someone else next time.
        c.leader = undefined
        return
      }
      const res = this.#request(c, op, n)
      if (res === 'sent') return
      c.leader = res.leader !== null && res.leader !== id ? res.leader : undefined
      if (c.leader === undefined) return
    }
  }

  #request (c: Client, op: Running, n: SimNode): 'sent' | { readonly leader: NodeId | null } {
    const { input } = op
    if (input.kind === 'get') {
      if (this.#reads === 'local') {
        op.attempt = { kind: 'local', node: n.id, raft: n.raft }
        return 'sent'
      }
      const ctx = `c${c.id}.${this.#ctxSeq++}`
      const res = n.raft.readIndex(ctx)
      if (!res.ok) return { leader: res.leader }
      op.attempt = { kind: 'readIndex', node: n.id, raft: n.raft, ctx, term: res.term, since: this.#sim.now }
      return 'sent'
    }
    const cmd: KvCommand = input.kind === 'put'
      ? { op: 'put', key: input.key, value: input.value }
      : { op: 'cas', key: input.key, expected: input.expected, value: input.value }
    const res = this.#sim.propose(n.id, cmd)
    if (!res.ok) return { leader: res.leader }
    op.attempt = { kind: 'propose', node: n.id, raft: n.raft, index: res.index, term: res.term }
    return 'sent'
  }

  #resolve (c: Client, op: Running, at: Attempt): void {
    const n = this.#sim.node(at.node)
    if (!n.alive || n.raft !== at.raft) {
      // The server crashed (and maybe came back): the connection is gone with whatever it knew.
      c.leader = undefined
      if (at.kind === 'propose') this.#finish(c, op, undefined)
      else op.attempt = undefined
      return
    }
    switch (at.kind) {
      case 'local':
        this.#finish(c, op, { value: n.kv.get(op.input.key) ?? null })
        return
      case 'readIndex': {
        const index = this.#readStates.get(at.ctx)
        if (index !== undefined) {
          if (n.applied >= index) this.#finish(c, op, { value: n.kv.get(op.input.key) ?? null })
          return
        }
        // A leader that stepped down dropped its pending reads: ask the new one.
        if (n.raft.role !== 'leader' || n.raft.term !== at.term) {
          op.attempt = undefined
          c.leader = n.raft.leader ?? undefined
        } else if (this.#sim.now - at.since >= 2 * this.#sim.config.electionTicks) {
          // Long enough for a new leader to have been elected without it: a cut-off leader (with
          // no check-quorum) may never step down. A get may be asked again anywhere.
          op.attempt = undefined
          c.leader = undefined
        }
        return
      }
      case 'propose': {
        const term = this.#appliedTerms.get(n.id)?.get(at.index)
        if (term === at.term) {
          if (op.input.kind === 'put') {
            this.#finish(c, op, { ok: true })
          } else {
            const swapped = n.results.get(at.index)
            this.#finish(c, op, swapped === undefined ? undefined : { ok: swapped })
          }
        } else if (term !== undefined) {
          // Another entry committed at our index: ours never will. Propose again.
          op.attempt = undefined
          c.leader = n.raft.leader ?? undefined
        } else if (n.applied >= at.index) {
          // Applied past the index from a snapshot: this server cannot tell what happened.
          this.#finish(c, op, undefined)
        }
      }
    }
  }

  #giveUp (c: Client, op: Running): void {
    // Whoever we were talking to did not answer in time: ask around next time.
    c.leader = undefined
    // A put none of whose proposals can take effect any more was refused; anything else is unknown.
    const refused = op.input.kind === 'put' && op.attempt === undefined
    this.#finish(c, op, refused ? { ok: false } : undefined)
  }

  #finish (c: Client, op: Running, output: KvOutput | undefined): void {
    const now = this.#sim.now
    // Known outcomes are only noticed after a tick, so they return after their call; the
    // floor is for giving up in the same tick (abandonAll), where the return time means nothing.
    this.history.push({ client: c.id, input: op.input, call: callTime(op.startTick), return: Math.max(returnTime(now), callTime(op.startTick) + 1), output })
    c.op = undefined
  }
}
