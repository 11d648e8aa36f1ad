/**
 * A queue of object keys for a controller, as client-go's workqueue: a key
 * waits in it at most once however often it is added; a key being
 * reconciled is never handed out again until done, and one added meanwhile
 * comes out again after; a failed key comes back after an exponential
 * delay (baseDelayMs doubling per failure, capped at maxDelayMs) until
 * forgotten.
 */

export interface WorkQueueOptions {
  /** The first retry's delay, ms (client-go: 5 ms). */
  readonly baseDelayMs?: number
  /** The longest retry delay, ms. */
  readonly maxDelayMs?: number
}

export interface WorkQueueCounters {
  /** Keys waiting. */
  readonly depth: number
  /** Keys being reconciled. */
  readonly processing: number
  /** Failed keys waiting out their backoff. */
  readonly delayed: number
  /** Keys added back after a failure, in all. */
  readonly retries: number
}

export class WorkQueue {
  readonly #baseDelayMs: number
  readonly #maxDelayMs: number
  /** Waiting keys, in order; `#dirty` holds the same keys, plus those re-added while being processed. */
  readonly #queue: string[] = []
  readonly #dirty = new Set<string>()
  readonly #processing = new Set<string>()
  readonly #failures = new Map<string, number>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  #waiters: Array<(key: string | undefined) => void> = []
  #shutDown = false
  #retries = 0

  constructor (opts: WorkQueueOptions = {}) {
    this.#baseDelayMs = opts.baseDelayMs ?? 5
    this.#maxDelayMs = opts.maxDelayMs ?? 30_000
  }

  add (key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return
    this.#dirty.add(key)
    if (this.#processing.has(key)) return
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      this.#dirty.delete(key)
      this.#processing.add(key)
      waiter(key)
    } else {
      this.#queue.push(key)
    }
  }

  /** Add `key` after `ms` (a time-driven change no event will announce); a sooner add wins. */
  addAfter (key: string, ms: number): void {
    if (this.#shutDown || this.#timers.has(key)) return
    this.#timers.set(key, setTimeout(() => {
      this.#timers.delete(key)
      this.add(key)
    }, ms))
  }

  /** Add `key` after its next backoff delay (one more failure counted). */
  addRateLimited (key: string): void {
    if (this.#shutDown) return
    const failures = this.#failures.get(key) ?? 0
    this.#failures.set(key, failures + 1)
    this.#retries++
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures)
    clearTimeout(this.#timers.get(key))
    this.#timers.set(key, setTimeout(() => {
      this.#timers.delete(key)
      this.add(key)
    }, delay))
  }

  /** The key's failures are over: its next failure waits baseDelayMs again. */
  forget (key: string): void {
    this.#failures.delete(key)
  }

  /** How many failures `key` has had since it was last forgotten. */
  failures (key: string): number {
    return this.#failures.get(key) ?? 0
  }

  /** The next key to reconcile, once there is one; undefined once shut down. */
  async get (): Promise<string | undefined> {
    if (this.#shutDown) return undefined
    const key = this.#queue.shift()
    if (key !== undefined) {
      this.#dirty.delete(key)
      this.#processing.add(key)
      return key
    }
    return await new Promise(resolve => { this.#waiters.push(resolve) })
  }

  /** `key` is reconciled (or given up): one added meanwhile waits again. */
  done (key: string): void {
    this.#processing.delete(key)
    if (this.#dirty.delete(key)) this.add(key)
  }

  /** Drop every waiting key and pending retry (the failures are kept). */
  clear (): void {
    for (const key of this.#queue) this.#dirty.delete(key)
    this.#queue.length = 0
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  shutDown (): void {
    this.#shutDown = true
    this.clear()
    for (const w of this.#waiters) w(undefined)
    this.#waiters = []
  }

  counters (): WorkQueueCounters {
    return { depth: this.#queue.length, processing: this.#processing.size, delayed: this.#timers.size, retries: this.#retries }
  }
}
