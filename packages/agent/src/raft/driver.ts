import type { ConfChange, Entry, NodeId, RaftNode, RaftStatus, Ready, Snapshot } from '@shoal/core/raft/index.ts'
import { ShoalError } from '@shoal/core'
import type { RaftStorage } from './storage.ts'
import type { RaftTransport } from './transport.ts'
import type { Logger } from '../log.ts'

/** This node is not the leader; `leader` is who is, when known. */
export class NotLeaderError extends ShoalError {
  readonly leader: NodeId | null
  constructor (leader: NodeId | null, message = leader === null ? 'no leader is elected right now' : `the leader is ${leader}`) {
    super('NotLeader', 503, message)
    this.name = 'NotLeaderError'
    this.leader = leader
  }
}

/** The proposal will never be applied (its entry was replaced after a leader change); it is safe to retry. */
export class ProposalDroppedError extends ShoalError {
  constructor (index: number) {
    super('ProposalDropped', 503, `the proposal at index ${index} was replaced after a leader change; retry`)
    this.name = 'ProposalDroppedError'
  }
}

/** Raft refused the request (a membership change in progress, an invalid change, a transfer under way). */
export class RaftRefusedError extends ShoalError {
  constructor (reason: string, message: string) {
    super(reason, 409, message)
    this.name = 'RaftRefusedError'
  }
}

export interface RaftDriverComponents {
  readonly raft: RaftNode
  readonly storage: RaftStorage
  readonly transport: RaftTransport
  readonly log: Logger
}

export interface RaftDriverInit {
  /** Length of one Raft tick, ms. */
  readonly tickMs: number
  /** Apply committed entries (after a snapshot, if any) to the state machine, in order. */
  readonly apply: (entries: readonly Entry[], snapshot: Snapshot | null) => void
  /** The state machine's serialised state at the last applied index, for compaction. */
  readonly snapshotData: () => string
  /** Compact the log after this many entries past the last snapshot (0: never). */
  readonly compactEvery: number
  /** Called once if the loop fails (a disk write, a broken invariant): the node stops taking part. */
  readonly onFatal?: (err: Error) => void
}

export interface RaftDriver {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Propose on this node (it must lead); resolves with the entry's place once it is applied here. */
  propose: (data: string) => Promise<{ index: number, term: number }>
  /** Propose on this node (it must lead); resolves as soon as the entry is appended to the log. */
  proposeAppended: (data: string) => Promise<{ index: number, term: number }>
  /** Resolves once the entry at `index` is applied here with term `term`; rejects if another entry landed there. */
  waitApplied: (index: number, term: number) => Promise<void>
  /** Resolves once this node has applied `index` (whatever entry it is). */
  waitIndex: (index: number) => Promise<void>
  /** Linearizable read point (ReadIndex): resolves with an index; reads are safe once it is applied. Leader only. */
  readIndex: () => Promise<number>
  proposeConfChange: (change: ConfChange) => Promise<{ index: number, term: number }>
  transferLeadership: (to: NodeId) => Promise<void>
  status: () => RaftStatus
  /** The transport's connection to `id` closed. */
  peerLost: (id: NodeId) => void
}

/** Messages only a leader sends; they need not wait for its disk. */
const LEADER_MESSAGES: ReadonlySet<string> = new Set(['append', 'heartbeat', 'snapshot', 'timeoutNow'])

interface Waiter { readonly term: number, readonly resolve: () => void, readonly reject: (err: Error) => void }

/**
 * The loop that connects the pure Raft node to the world: ticks on a timer,
 * messages from the transport and proposals from callers go into one queue;
 * whenever the node has a Ready, it is persisted (synced) first, then its
 * messages are sent, then its committed entries applied, then the node is
 * advanced. Inputs that arrive while a Ready is being saved wait in the queue.
 * This is the only place on the Raft path that awaits.
 */
export function createRaftDriver (c: RaftDriverComponents, init: RaftDriverInit): RaftDriver {
  const { raft, storage, transport, log } = c
  const inbox: Array<() => void> = []
  const appliedWaiters = new Map<number, Waiter[]>()
  const indexWaiters: Array<{ index: number, resolve: () => void }> = []
  const readWaiters = new Map<string, { resolve: (index: number) => void }>()
  let readSeq = 0
  let running = false
  let stopped = false
  let timer: ReturnType<typeof setInterval> | undefined
  let failure: Error | undefined
  let lastSnapshotIndex = 0

  const enqueue = (fn: () => void): void => {
    inbox.push(fn)
    if (!running) {
      // Start on the next turn of the event loop, so that everything that
      // arrives in this one (requests, messages) goes into one Ready: one
      // disk sync and one message per peer for all of it.
      running = true
      // A follower gains little from waiting (its input is the leader's batch) and answers sooner without.
      if (raft.role === 'leader') setImmediate(() => { void pump() })
      else queueMicrotask(() => { void pump() })
    }
  }

  /** Run `fn` against the node between Readies and return its result. */
  const withNode = async <T>(fn: () => T): Promise<T> => await new Promise<T>((resolve, reject) => {
    if (stopped) {
      reject(new ShoalError('Unavailable', 503, 'raft is stopped'))
      return
    }
    enqueue(() => {
      try {
        resolve(fn())
      } catch (err) {
        reject(err as Error)
      }
    })
  })

  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        while (inbox.length > 0) inbox.shift()!()
        if (stopped || !raft.hasReady()) break
        await handleReady(raft.ready())
      }
    } catch (err) {
      // A failed disk write or a broken invariant: this node must not go on.
      failure = err as Error
      log.fatal({ err: failure.message, stack: failure.stack }, 'raft failed')
      stopped = true
      clearInterval(timer)
      for (const list of appliedWaiters.values()) for (const w of list) w.reject(failure)
      appliedWaiters.clear()
      init.onFatal?.(failure)
    } finally {
      running = false
    }
  }

  const handleReady = async (rd: Ready): Promise<void> => {
    // A leader's appends and heartbeats may leave before its own write is on
    // disk (Raft thesis §10.2.1): nothing counts the leader's copy, and no
    // commit is acted on, until this Ready is done, since the node takes no
    // input before then. Votes and acknowledgements wait for the disk.
    // One exception: a commit index past what is already on disk (a lone
    // voter commits its own entries at once) must not reach learners first.
    const onDisk = rd.entries.length > 0 ? rd.entries[0]!.index - 1 : Infinity
    const early = rd.messages.filter(m => LEADER_MESSAGES.has(m.type) && !((m.type === 'append' || m.type === 'heartbeat') && m.commit > onDisk))
    const sent = new Set(early)
    const late = early.length === rd.messages.length ? [] : rd.messages.filter(m => !sent.has(m))
    transport.send(early)
    if (rd.hardState !== null || rd.snapshot !== null || rd.entries.length > 0) await storage.save(rd)
    transport.send(late)
    if (rd.snapshot !== null || rd.committed.length > 0) init.apply(rd.committed, rd.snapshot)
    if (rd.snapshot !== null) {
      lastSnapshotIndex = rd.snapshot.index
      settleUpTo(rd.snapshot.index)
    }
    for (const e of rd.committed) settle(e)
    if (indexWaiters.length > 0) {
      const applied = rd.committed.at(-1)?.index ?? rd.snapshot?.index ?? 0
      for (let i = indexWaiters.length - 1; i >= 0; i--) {
        if (indexWaiters[i]!.index <= applied) indexWaiters.splice(i, 1)[0]!.resolve()
      }
    }
    for (const rs of rd.readStates) readWaiters.get(rs.ctx)?.resolve(rs.index)
    if (rd.soft !== null) {
      log.info(rd.soft, rd.soft.role === 'leader' ? 'raft: leading' : 'raft: role changed')
      if (rd.soft.role !== 'leader') failReads(rd.soft.leader)
    }
    raft.advance(rd)
    if (init.compactEvery > 0 && raft.applied - lastSnapshotIndex >= init.compactEvery) {
      const snapshot = raft.compact(init.snapshotData())
      await storage.save({ hardState: null, snapshot, entries: [] })
      lastSnapshotIndex = snapshot.index
      log.info({ index: snapshot.index }, 'raft: log compacted')
    }
  }

  const settle = (e: Entry): void => {
    const list = appliedWaiters.get(e.index)
    if (list === undefined) return
    appliedWaiters.delete(e.index)
    for (const w of list) {
      if (w.term === e.term) w.resolve()
      else w.reject(new ProposalDroppedError(e.index))
    }
  }

  /** A snapshot covered these indexes: we cannot tell whose entries they were. */
  const settleUpTo = (index: number): void => {
    for (const [i, list] of appliedWaiters) {
      if (i > index) continue
      appliedWaiters.delete(i)
      for (const w of list) w.reject(new ProposalDroppedError(i))
    }
  }

  const failReads = (leader: NodeId | null): void => {
    for (const [ctx, w] of readWaiters) {
      readWaiters.delete(ctx)
      ;(w as unknown as { reject: (e: Error) => void }).reject(new NotLeaderError(leader))
    }
  }

  const waitApplied = async (index: number, term: number): Promise<void> => await new Promise<void>((resolve, reject) => {
    enqueue(() => {
      if (raft.applied >= index) {
        // Already applied: it is ours if the log still has our term there.
        const t = raft.termAt(index)
        if (t === term) resolve()
        else if (t === undefined) reject(new ProposalDroppedError(index))
        else reject(new ProposalDroppedError(index))
        return
      }
      const list = appliedWaiters.get(index) ?? []
      list.push({ term, resolve, reject })
      appliedWaiters.set(index, list)
    })
  })

  const proposeAppended = async (data: string): Promise<{ index: number, term: number }> => {
    const r = await withNode(() => raft.propose(data))
    if (!r.ok) {
      if (r.reason === 'NotLeader') throw new NotLeaderError(r.leader)
      throw new RaftRefusedError(r.reason, r.message)
    }
    return { index: r.index, term: r.term }
  }

  return {
    async start () {
      // The state machine starts from the snapshot on disk; the log after it is replayed through Readies.
      const boot = raft.snapshot()
      if (boot !== null) {
        init.apply([], boot)
        lastSnapshotIndex = boot.index
      }
      await transport.start(m => enqueue(() => raft.step(m)))
      timer = setInterval(() => enqueue(() => raft.tick()), init.tickMs)
      enqueue(() => {})
    },

    async stop () {
      stopped = true
      clearInterval(timer)
      await transport.stop()
      while (running) await new Promise(resolve => setImmediate(resolve))
      for (const list of appliedWaiters.values()) for (const w of list) w.reject(new ShoalError('Unavailable', 503, 'raft stopped'))
      appliedWaiters.clear()
      await storage.close()
    },

    proposeAppended,

    async propose (data) {
      const at = await proposeAppended(data)
      await waitApplied(at.index, at.term)
      return at
    },

    waitApplied,

    async waitIndex (index) {
      await new Promise<void>(resolve => {
        enqueue(() => {
          if (raft.applied >= index) resolve()
          else indexWaiters.push({ index, resolve })
        })
      })
    },

    async readIndex () {
      const ctx = `r${++readSeq}`
      return await new Promise<number>((resolve, reject) => {
        readWaiters.set(ctx, { resolve: (index) => { readWaiters.delete(ctx); resolve(index) } })
        ;(readWaiters.get(ctx) as unknown as { reject: (e: Error) => void }).reject = (e) => { readWaiters.delete(ctx); reject(e) }
        enqueue(() => {
          const r = raft.readIndex(ctx)
          if (!r.ok) {
            readWaiters.delete(ctx)
            reject(new NotLeaderError(r.leader))
          }
        })
      })
    },

    async proposeConfChange (change) {
      const r = await withNode(() => raft.proposeConfChange(change))
      if (!r.ok) {
        if (r.reason === 'NotLeader') throw new NotLeaderError(r.leader)
        throw new RaftRefusedError(r.reason, r.message)
      }
      await waitApplied(r.index, r.term)
      return { index: r.index, term: r.term }
    },

    async transferLeadership (to) {
      const r = await withNode(() => raft.transferLeadership(to))
      if (!r.ok) {
        if (r.reason === 'NotLeader') throw new NotLeaderError(r.leader)
        throw new RaftRefusedError(r.reason, r.message)
      }
    },

    peerLost: (id) => { enqueue(() => raft.peerLost(id)) },

    status: () => {
      if (failure !== undefined) throw failure
      return raft.status()
    }
  }
}
