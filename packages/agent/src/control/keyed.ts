import type { Logger } from '../log.ts'
import { WorkQueue, type WorkQueueOptions } from './work-queue.ts'

/**
 * A controller the way Kubernetes writes them (sample-controller): event
 * handlers on the local replica's watch put the keys of the objects a
 * change concerns in a work queue, and one worker reconciles one key at a
 * time against the local replica, which is the cache every controller
 * shares. A reconcile that throws is retried with backoff; a periodic
 * resync (every key again) stays, but rare.
 */

export interface KeyedControllerCounters {
  /** Keys reconciled, in all (failed ones included). */
  readonly reconciles: number
  /** Reconciles that threw. */
  readonly failures: number
  /** Keys added back after a failure. */
  readonly retries: number
  /** Keys waiting, being reconciled, and waiting out a backoff. */
  readonly depth: number
  readonly processing: number
  readonly delayed: number
}

export interface KeyedController {
  readonly name: string
  enqueue: (key: string) => void
  /** Every key again: on becoming active, and every resync period. */
  resync: () => void
  start: () => void
  stop: () => Promise<void>
  counters: () => KeyedControllerCounters
}

export interface KeyedControllerInit {
  readonly name: string
  /** Make the world match what `key` names wants; throw to be retried with backoff. */
  readonly reconcile: (key: string) => Promise<void>
  /** Every key there is, for a resync. */
  readonly keys: () => readonly string[]
  /** Whether to reconcile now (this agent leads and has caught up): keys taken while not are dropped, and a resync follows. */
  readonly active: () => boolean
  readonly log: Logger
  readonly queue?: WorkQueueOptions
  /** How often every key is reconciled again, ms. */
  readonly resyncMs?: number
}

/** A resync every 5 minutes: events drive the work; this only catches what no event said. */
export const RESYNC_MS = 5 * 60_000

export function keyedController (init: KeyedControllerInit): KeyedController {
  const queue = new WorkQueue(init.queue)
  let reconciles = 0
  let failures = 0
  let worker: Promise<void> | undefined
  let timer: ReturnType<typeof setInterval> | undefined

  const work = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get()
      if (key === undefined) return
      try {
        if (!init.active()) {
          queue.forget(key)
          continue
        }
        reconciles++
        await init.reconcile(key)
        queue.forget(key)
      } catch (err) {
        failures++
        const attempt = queue.failures(key) + 1
        init.log.warn({ controller: init.name, key, attempt, err: (err as Error).message }, 'reconcile failed; will retry')
        queue.addRateLimited(key)
      } finally {
        queue.done(key)
      }
    }
  }

  const resync = (): void => { for (const key of init.keys()) queue.add(key) }

  return {
    name: init.name,
    enqueue: key => { queue.add(key) },
    resync,
    start () {
      worker = work()
      timer = setInterval(() => { if (init.active()) resync() }, init.resyncMs ?? RESYNC_MS)
    },
    async stop () {
      clearInterval(timer)
      queue.shutDown()
      await worker
    },
    counters: () => ({ reconciles, failures, ...queue.counters() })
  }
}
