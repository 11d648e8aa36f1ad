import { mkdir, readdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { ShoalError } from '@shoal/core'
import type { Entry, HardState, PersistedState, Snapshot } from '@shoal/core/raft/types.ts'

/**
 * What one Ready asks to persist. The fields match `Ready`'s, so a driver can
 * pass its Ready as it is.
 */
export interface RaftStorageUpdate {
  readonly hardState: HardState | null
  readonly snapshot: Snapshot | null
  readonly entries: readonly Entry[]
}

/**
 * Where a Raft node keeps what must survive a crash. A save resolves only once
 * it is on disk, and it is all-or-nothing: a node answers a vote or
 * acknowledges an append after its save resolves, so a save that half-happened,
 * or that a crash undid, could let it vote twice or lose an entry it promised.
 *
 * Every implementation refuses an update that would leave a log the node could
 * not have produced (a gap, an entry covered by the snapshot, a term going
 * back, a vote changed within a term, a commit index past the log): those are
 * bugs in the caller, and storing them would turn the bug into corruption that
 * only shows after a restart. A refused save changes nothing.
 */
export interface RaftStorage {
  /**
   * Everything persisted: the hard state (term 0, vote null, commit 0 when
   * new), the latest snapshot or null, and the entries after it, contiguous.
   */
  load (): Promise<PersistedState>
  /**
   * Persist `update` durably before resolving, all-or-nothing, applying in this
   * order: the snapshot, then the entries, then the hard state.
   * - A snapshot replaces the previous one (it may not be older) and discards
   *   the entries it covers. Entries after it stay if the stored entry at its
   *   index has its term; otherwise they conflict with it and all go.
   * - Entries are contiguous and start at most one past the last stored index,
   *   after the snapshot; saving entries that start at index i first discards
   *   every stored entry with index >= i (a new leader overwrote a conflicting
   *   suffix).
   * - The hard state's term never goes back, its vote never changes within a
   *   term once cast, and its commit index is never past the last index.
   */
  save (update: RaftStorageUpdate): Promise<void>
  /**
   * Discard entries with index <= `index`, which the stored snapshot must
   * cover. A snapshot save already discards the entries it covers, so this only
   * checks, and keeps callers that compact after snapshotting working.
   */
  compact (index: number): Promise<void>
  /** Waits for the saves in flight; later calls reject. */
  close (): Promise<void>
}

/**
 * What a storage keeps in memory about its log: enough to check an update and
 * to know which stored entries it discards, without reading them back. Terms in
 * a Raft log never decrease, so they are kept as runs, a handful for any log.
 */
export interface LogShape {
  readonly hardState: HardState
  /** 0 and 0 without a snapshot. */
  readonly snapIndex: number
  readonly snapTerm: number
  /** The last index: of the last entry, or of the snapshot when no entry follows it. */
  readonly last: number
  /** The entries snapIndex+1..last: `from` starts a run of entries of `term`, which lasts until the next run. */
  readonly runs: ReadonlyArray<{ readonly from: number, readonly term: number }>
}

export const emptyHardState: HardState = { term: 0, vote: null, commit: 0 }
export const emptyShape: LogShape = { hardState: emptyHardState, snapIndex: 0, snapTerm: 0, last: 0, runs: [] }

/** The term of the entry (or snapshot) at `index`; 0 at index 0; undefined when neither is stored. */
export function termAt (shape: LogShape, index: number): number | undefined {
  if (index === shape.snapIndex) return shape.snapTerm
  if (index < shape.snapIndex || index > shape.last) return undefined
  for (let i = shape.runs.length - 1; i >= 0; i--) {
    const run = shape.runs[i]
    if (run !== undefined && run.from <= index) return run.term
  }
  return undefined
}

/** The shape of a loaded state, which must already be known to be consistent. */
export function shapeOf (state: PersistedState): LogShape {
  let shape: LogShape = { ...emptyShape, hardState: state.hardState }
  if (state.snapshot !== null) shape = { ...shape, snapIndex: state.snapshot.index, snapTerm: state.snapshot.term, last: state.snapshot.index }
  return appendRuns(shape, state.entries)
}

/**
 * The shape after `update`, or an Error (not thrown, so each storage raises it
 * in its own words) saying why the update is refused. Pure: nothing is changed.
 */
export function planSave (shape: LogShape, update: RaftStorageUpdate): LogShape | Error {
  let next = shape
  const snap = update.snapshot
  if (snap !== null) {
    if (!isIndex(snap.index) || !isIndex(snap.term)) return new Error(`snapshot index ${snap.index} and term ${snap.term} must be integers >= 1`)
    if (snap.index < shape.snapIndex) return new Error(`snapshot at index ${snap.index} is older than the stored one at ${shape.snapIndex}`)
    if (snap.index === shape.snapIndex && snap.term !== shape.snapTerm) return new Error(`snapshot at index ${snap.index} has term ${snap.term}, but the stored snapshot there has term ${shape.snapTerm}`)
    const keep = termAt(shape, snap.index) === snap.term
    next = {
      ...next,
      snapIndex: snap.index,
      snapTerm: snap.term,
      last: keep ? shape.last : snap.index,
      runs: keep ? dropBefore(shape.runs, snap.index + 1, shape.last) : []
    }
  }
  const entries = update.entries
  const head = entries[0]
  if (head !== undefined) {
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as Entry
      if (!isIndex(e.index) || !isIndex(e.term)) return new Error(`entry index ${e.index} and term ${e.term} must be integers >= 1`)
      if (e.index !== head.index + k) return new Error(`entries are not contiguous: entry ${e.index} follows entry ${head.index + k - 1}`)
    }
    if (head.index <= next.snapIndex) return new Error(`entry ${head.index} is covered by the snapshot at index ${next.snapIndex}`)
    if (head.index > next.last + 1) return new Error(`entries start at ${head.index}, leaving a gap after the last index ${next.last}`)
    let prevTerm = termAt(next, head.index - 1) ?? 0
    for (const e of entries) {
      if (e.term < prevTerm) return new Error(`entry ${e.index} has term ${e.term}, lower than the term ${prevTerm} before it`)
      prevTerm = e.term
    }
    next = appendRuns({ ...next, last: head.index - 1, runs: dropFrom(next.runs, head.index) }, entries)
  }
  const hs = update.hardState
  if (hs !== null) {
    const cur = shape.hardState
    if (!isCount(hs.term) || !isCount(hs.commit) || !(hs.vote === null || typeof hs.vote === 'string')) return new Error(`hard state ${JSON.stringify(hs)} is malformed`)
    if (hs.term < cur.term) return new Error(`hard state term ${hs.term} is lower than the stored term ${cur.term}`)
    if (hs.term === cur.term && cur.vote !== null && hs.vote !== cur.vote) return new Error(`hard state changes the vote in term ${hs.term} from ${cur.vote} to ${String(hs.vote)}`)
    next = { ...next, hardState: { term: hs.term, vote: hs.vote, commit: hs.commit } }
  }
  if (next.hardState.commit > next.last) return new Error(`commit index ${next.hardState.commit} would be past the last index ${next.last}`)
  return next
}

/** Why `compact(index)` is refused, or null. */
export function checkCompact (shape: LogShape, index: number): Error | null {
  if (!isCount(index)) return new Error(`compact index ${index} must be an integer >= 0`)
  if (index > shape.snapIndex) return new Error(`cannot compact to index ${index}: the stored snapshot only covers up to ${shape.snapIndex}`)
  return null
}

function appendRuns (shape: LogShape, entries: readonly Entry[]): LogShape {
  const runs = [...shape.runs]
  let last = shape.last
  for (const e of entries) {
    if (runs.at(-1)?.term !== e.term) runs.push({ from: e.index, term: e.term })
    last = e.index
  }
  return { ...shape, last, runs }
}

/** The runs for entries index..last only. */
function dropBefore (runs: LogShape['runs'], index: number, last: number): LogShape['runs'] {
  const out: Array<{ from: number, term: number }> = []
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i] as LogShape['runs'][number]
    const end = runs[i + 1]?.from ?? last + 1
    if (end > index) out.push({ from: Math.max(run.from, index), term: run.term })
  }
  return out
}

/** The runs for entries < `index` only. */
function dropFrom (runs: LogShape['runs'], index: number): LogShape['runs'] {
  return runs.filter(run => run.from < index)
}

function isIndex (n: number): boolean { return Number.isSafeInteger(n) && n >= 1 }
function isCount (n: number): boolean { return Number.isSafeInteger(n) && n >= 0 }

/** Bumped when the layout changes, so an older agent refuses a store it cannot read rather than misreading it. */
const FORMAT = '1'
const FORMAT_KEY = 'format'
const HARD_STATE_KEY = 'hs'
const SNAPSHOT_KEY = 'snap'
const ENTRY_PREFIX = 'e!'
const ENTRY_KEY = /^e!(\d{16})$/

/** 16 zero-padded digits, so LevelDB's byte order is index order (Number.MAX_SAFE_INTEGER has 16 digits). */
function entryKey (index: number): string {
  return ENTRY_PREFIX + String(index).padStart(16, '0')
}

/**
 * Raft storage on LevelDB, in its own directory, with this layout:
 * `format` → "1", `hs` → hard state JSON, `snap` → snapshot JSON, and
 * `e!<index, 16 digits>` → entry JSON. Each save is one LevelDB batch written
 * with `sync: true` (fsync of its write-ahead log), which LevelDB applies whole
 * or not at all, on recovery too. The log's shape is kept in memory so a
 * truncation deletes exactly the keys it must without reading them back.
 *
 * LevelDB's LOCK file keeps a second process (or a second open in this one)
 * out. Load checks everything it reads and refuses a store that does not
 * form one consistent log: a corrupt log must stop the agent, never be served.
 *
 * After a failed write the store is not trusted any more (an fsync error can
 * lose data the kernel already reported written) and every later call
 * rejects: the agent must restart and load what is really on disk.
 */
export class LevelRaftStorage implements RaftStorage {
  readonly dir: string
  readonly #db: ClassicLevel<string, string>
  #shape: LogShape
  /** Calls run one at a time, in call order, so the shape always matches the disk. */
  #queue: Promise<unknown> = Promise.resolve()
  #failure: Error | null = null
  #closed = false

  private constructor (dir: string, db: ClassicLevel<string, string>, shape: LogShape) {
    this.dir = dir
    this.#db = db
    this.#shape = shape
  }

  /** Open (creating it if needed) and check the store in `dir`. */
  static async open (dir: string): Promise<LevelRaftStorage> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // Without CURRENT, LevelDB would create an empty store and delete the old files as obsolete: a lost
    // CURRENT must stop the agent, not restart it with an empty log and term 0 (it could vote twice).
    const files = await readdir(dir)
    if (!files.includes('CURRENT') && files.some(f => /\.(log|ldb|sst)$/.test(f))) throw corrupt(dir, 'its LevelDB CURRENT file is missing, but log and table files are there (opening it would start an empty store over them)')
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (err) {
      throw openError(dir, err)
    }
    try {
      const state = await readStore(db, dir)
      return new LevelRaftStorage(dir, db, shapeOf(state))
    } catch (err) {
      await db.close()
      throw err
    }
  }

  async load (): Promise<PersistedState> {
    return await this.#run(async () => {
      const state = await readStore(this.#db, this.dir)
      this.#shape = shapeOf(state)
      return state
    })
  }

  async save (update: RaftStorageUpdate): Promise<void> {
    await this.#run(async () => {
      const old = this.#shape
      const next = planSave(old, update)
      if (next instanceof Error) throw new Error(`raft storage ${this.dir} refused a save: ${next.message}`)
      const ops: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }> = []
      // Stored entries outside the new log's range go; those inside it are kept or overwritten by a put below.
      const oldFirst = old.snapIndex + 1
      const newFirst = next.snapIndex + 1
      for (let i = oldFirst; i <= Math.min(old.last, newFirst - 1); i++) ops.push({ type: 'del', key: entryKey(i) })
      for (let i = Math.max(oldFirst, next.last + 1); i <= old.last; i++) ops.push({ type: 'del', key: entryKey(i) })
      if (update.snapshot !== null) ops.push({ type: 'put', key: SNAPSHOT_KEY, value: JSON.stringify(update.snapshot) })
      for (const e of update.entries) ops.push({ type: 'put', key: entryKey(e.index), value: JSON.stringify(e) })
      if (update.hardState !== null) ops.push({ type: 'put', key: HARD_STATE_KEY, value: JSON.stringify(next.hardState) })
      if (ops.length === 0) return
      // Entries, a snapshot, a term or a vote must survive a power cut before
      // the node acts on them. A commit index alone need not (etcd's MustSync):
      // it is learnt again from the leader, so it is written without the fsync.
      const mustSync = update.entries.length > 0 || update.snapshot !== null ||
        (update.hardState !== null && (update.hardState.term !== old.hardState.term || update.hardState.vote !== old.hardState.vote))
      await this.#write(ops, mustSync)
      this.#shape = next
    })
  }

  async compact (index: number): Promise<void> {
    await this.#run(async () => {
      const refused = checkCompact(this.#shape, index)
      if (refused !== null) throw new Error(`raft storage ${this.dir} refused to compact: ${refused.message}`)
      // Every entry <= snapIndex was deleted when the snapshot was saved: nothing is left to delete.
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue
    await this.#db.close()
  }

  async #write (ops: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }>, sync: boolean): Promise<void> {
    try {
      await this.#db.batch(ops, { sync })
    } catch (err) {
      this.#failure = new Error(`raft storage ${this.dir} failed to write, and no longer trusts its state (restart to reload it): ${(err as Error).message}`, { cause: err })
      throw this.#failure
    }
  }

  #run<T> (op: () => Promise<T>): Promise<T> {
    // Checked at call time: calls made before close() still run, later ones reject.
    if (this.#closed) return Promise.reject(new Error(`raft storage ${this.dir} is closed`))
    const result = this.#queue.then(async () => {
      if (this.#failure !== null) throw this.#failure
      return await op()
    })
    this.#queue = result.catch(() => {})
    return result
  }
}

function openError (dir: string, err: unknown): Error {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  if (cause?.code === 'LEVEL_LOCKED') return new ShoalError('DataDirLocked', 409, `raft storage ${dir} is locked: another agent (or another open in this process) is using it; stop it first (${cause.message ?? 'LOCK held'})`, { cause: err })
  if (cause?.code === 'LEVEL_CORRUPTION') return corrupt(dir, `LevelDB cannot read it (${cause.message ?? 'corruption'})`, err)
  return new Error(`cannot open raft storage ${dir}: ${cause?.message ?? (err as Error).message}`, { cause: err })
}

function corrupt (dir: string, problem: string, cause?: unknown): ShoalError {
  return new ShoalError('CorruptDataDir', 500, `raft storage ${dir} is corrupt: ${problem}`, { cause })
}

/** Read and check the whole store; mark an empty one with the format. */
async function readStore (db: ClassicLevel<string, string>, dir: string): Promise<PersistedState> {
  let hardState: HardState = { ...emptyHardState }
  let snapshot: Snapshot | null = null
  const entries: Entry[] = []
  // The marker first, so a dir holding some other store is named as such rather than by its first odd key.
  const format = await db.get(FORMAT_KEY)
  if (format === undefined) {
    if ((await db.keys({ limit: 1 }).all()).length > 0) throw corrupt(dir, 'it has no format marker (it was not written by Shoal\'s raft storage)')
    await db.put(FORMAT_KEY, FORMAT, { sync: true })
  } else if (format !== FORMAT) {
    throw corrupt(dir, `it is in format ${JSON.stringify(format)}, and this agent reads format ${FORMAT} only (was it written by a newer Shoal?)`)
  }
  for await (const [key, value] of db.iterator()) {
    if (key === FORMAT_KEY) {
      continue
    } else if (key === HARD_STATE_KEY) {
      const hs = parse(dir, key, value)
      if (!isHardState(hs)) throw corrupt(dir, `the hard state is malformed: ${value}`)
      hardState = hs
    } else if (key === SNAPSHOT_KEY) {
      const snap = parse(dir, key, value)
      if (!isSnapshot(snap)) throw corrupt(dir, `the snapshot is malformed: ${value.slice(0, 200)}`)
      snapshot = snap
    } else {
      const m = ENTRY_KEY.exec(key)
      if (m === null) throw corrupt(dir, `it holds an unexpected key ${JSON.stringify(key)}`)
      const e = parse(dir, key, value)
      if (!isEntry(e)) throw corrupt(dir, `the value of ${key} is not a log entry: ${value.slice(0, 200)}`)
      if (e.index !== Number(m[1])) throw corrupt(dir, `key ${key} holds entry ${e.index}`)
      entries.push(e)
    }
  }
  const state: PersistedState = { hardState, snapshot, entries }
  const problem = logProblem(state)
  if (problem !== null) throw corrupt(dir, problem)
  return state
}

/** What makes `state` a log that saves could not have produced, or null. */
export function logProblem (state: PersistedState): string | null {
  const snapIndex = state.snapshot?.index ?? 0
  let prev = state.snapshot === null ? { index: 0, term: 0 } : { index: state.snapshot.index, term: state.snapshot.term }
  for (const e of state.entries) {
    if (e.index <= snapIndex) return `entry ${e.index} is covered by the snapshot at index ${snapIndex}`
    if (e.index !== prev.index + 1) {
      const what = prev.index !== snapIndex ? `entry ${prev.index} is followed by entry ${e.index}` : state.snapshot === null ? `the log starts at entry ${e.index}` : `the snapshot ends at index ${snapIndex}`
      return `entries ${prev.index + 1}..${e.index - 1} are missing (${what})`
    }
    if (e.term < prev.term) return `entry ${e.index} has term ${e.term}, lower than the term ${prev.term} before it`
    prev = e
  }
  if (state.hardState.commit > prev.index) return `the commit index ${state.hardState.commit} is past the last index ${prev.index} (committed entries were lost)`
  return null
}

function parse (dir: string, key: string, value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    throw corrupt(dir, `the value of ${key} is not valid JSON: ${value.slice(0, 200)}`)
  }
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isNat (v: unknown, min: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min
}

function isStrings (v: unknown): boolean {
  return Array.isArray(v) && v.every(s => typeof s === 'string')
}

export function isHardState (v: unknown): v is HardState {
  return isObject(v) && isNat(v.term, 0) && isNat(v.commit, 0) && (v.vote === null || typeof v.vote === 'string')
}

export function isSnapshot (v: unknown): v is Snapshot {
  return isObject(v) && isNat(v.index, 1) && isNat(v.term, 1) && typeof v.data === 'string' &&
    isObject(v.conf) && isStrings(v.conf.voters) && isStrings(v.conf.learners)
}

export function isEntry (v: unknown): v is Entry {
  if (!isObject(v) || !isNat(v.index, 1) || !isNat(v.term, 1)) return false
  if (v.type === 'normal') return typeof v.data === 'string'
  if (v.type !== 'conf' || !isObject(v.change)) return false
  const c = v.change
  return (c.type === 'addVoter' || c.type === 'addLearner' || c.type === 'remove') && typeof c.node === 'string'
}
