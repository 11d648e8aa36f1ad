import type { PersistedState } from '@shoal/core/raft/types.ts'
import { checkCompact, emptyHardState, emptyShape, planSave, type LogShape, type RaftStorage, type RaftStorageUpdate } from './storage.ts'

/** What a MemoryRaftStorage has "on disk": the part that outlives a simulated crash. */
interface MemoryDisk {
  shape: LogShape
  /** JSON, as LevelRaftStorage stores them, so both give back exactly the same values. */
  hardState: string
  snapshot: string | null
  /** The entries snapIndex+1..last, in order. */
  entries: string[]
}

/**
 * The in-memory twin of LevelRaftStorage, for tests and simulations: the same
 * checks (it shares `planSave`), the same values back (it stores JSON), no disk.
 * `reopen()` models a restart: a new instance over what was saved, with
 * nothing of the old one's in-flight state.
 */
export class MemoryRaftStorage implements RaftStorage {
  readonly #disk: MemoryDisk
  #closed = false

  constructor (disk?: MemoryDisk) {
    this.#disk = disk ?? { shape: emptyShape, hardState: JSON.stringify(emptyHardState), snapshot: null, entries: [] }
  }

  /** A new storage over what this one saved, as after a crash and restart; this one is closed. */
  reopen (): MemoryRaftStorage {
    this.#closed = true
    return new MemoryRaftStorage(this.#disk)
  }

  async load (): Promise<PersistedState> {
    this.#check()
    const d = this.#disk
    return {
      hardState: JSON.parse(d.hardState),
      snapshot: d.snapshot === null ? null : JSON.parse(d.snapshot),
      entries: d.entries.map(e => JSON.parse(e))
    }
  }

  async save (update: RaftStorageUpdate): Promise<void> {
    this.#check()
    const d = this.#disk
    const next = planSave(d.shape, update)
    if (next instanceof Error) throw new Error(`memory raft storage refused a save: ${next.message}`)
    // Keep the stored entries from the new first index up to where the saved ones start (or to the new last index).
    const oldFirst = d.shape.snapIndex + 1
    const keepTo = update.entries[0]?.index ?? next.last + 1
    const kept = d.entries.slice(next.snapIndex + 1 - oldFirst, Math.max(0, keepTo - oldFirst))
    d.entries = kept.concat(update.entries.map(e => JSON.stringify(e)))
    if (update.snapshot !== null) d.snapshot = JSON.stringify(update.snapshot)
    if (update.hardState !== null) d.hardState = JSON.stringify(next.hardState)
    d.shape = next
  }

  async compact (index: number): Promise<void> {
    this.#check()
    const refused = checkCompact(this.#disk.shape, index)
    if (refused !== null) throw new Error(`memory raft storage refused to compact: ${refused.message}`)
  }

  async close (): Promise<void> {
    this.#closed = true
  }

  #check (): void {
    if (this.#closed) throw new Error('memory raft storage is closed')
  }
}
