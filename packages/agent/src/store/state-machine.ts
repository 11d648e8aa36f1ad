import { ObjectStore, type BatchResult, type Command, type Result } from '@shoal/core'
import type { Entry, Snapshot } from '@shoal/core/raft/index.ts'
import type { Logger } from '../log.ts'

/** Results kept for writers that have not collected theirs yet. */
const MAX_KEPT_RESULTS = 10_000

/**
 * The replicated state machine of every agent: committed Raft entries applied
 * to the object store in order. An entry's data is one store command as JSON;
 * Raft's own entries (no-ops, membership changes) only advance the store's
 * resourceVersion. The outcome of each command is the same on every agent, so
 * the agent that proposed a write reads its result from its own replica.
 */
export class StoreStateMachine {
  #store: ObjectStore
  readonly #results = new Map<number, Result | BatchResult>()
  readonly #log: Logger
  readonly #onRestore: (store: ObjectStore) => void

  constructor (log: Logger, onRestore: (store: ObjectStore) => void = () => {}) {
    this.#store = new ObjectStore()
    this.#log = log
    this.#onRestore = onRestore
  }

  get store (): ObjectStore { return this.#store }

  apply (entries: readonly Entry[], snapshot: Snapshot | null): void {
    if (snapshot !== null) {
      this.#store = ObjectStore.restore(snapshot.data)
      this.#results.clear()
      this.#onRestore(this.#store)
    }
    for (const e of entries) {
      if (e.type !== 'normal' || e.data === '') {
        this.#store.skip(e.index)
        continue
      }
      let cmd: Command
      try {
        cmd = JSON.parse(e.data) as Command
      } catch {
        // Only agents write entries; a bad one is a bug, but it must not stop every replica.
        this.#log.error({ index: e.index }, 'raft entry is not a store command')
        this.#store.skip(e.index)
        continue
      }
      this.#keep(e.index, this.#store.apply(e.index, cmd))
    }
  }

  snapshot (): string {
    return this.#store.snapshot()
  }

  /** The result of the command applied at `index`, once. */
  takeResult (index: number): Result | BatchResult | undefined {
    const r = this.#results.get(index)
    this.#results.delete(index)
    return r
  }

  #keep (index: number, result: Result | BatchResult): void {
    this.#results.set(index, result)
    if (this.#results.size > MAX_KEPT_RESULTS) this.#results.delete(this.#results.keys().next().value!)
  }
}
