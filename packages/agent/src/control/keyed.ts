import type { KubeObject, ObjectCommand, ObjectStore, Result, WatchEventType } from '@shoal/core'
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
  /**
   * Make the world match what `key` names wants; throw to be retried with
   * backoff. A number returned: reconcile the key again after that many ms
   * (a change with time that no event will announce).
   */
  readonly reconcile: (key: string) => Promise<number | undefined>
  /** Every key there is, for a resync. */
  readonly keys: () => readonly string[]
  /** Whether to reconcile now (this agent leads and has caught up): keys taken while not are dropped, and a resync follows. */
  readonly active: () => boolean
  readonly log: Logger
  readonly queue?: WorkQueueOptions
  /** How often every key is reconciled again, ms. */
  readonly resyncMs?: number
}

/** `namespace/name` split at the first slash. */
export function keyParts (key: string): [string, string] {
  const slash = key.indexOf('/')
  return [key.slice(0, slash), key.slice(slash + 1)]
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
        const after = await init.reconcile(key)
        queue.forget(key)
        if (after !== undefined) queue.addAfter(key, after)
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

/**
 * A controller's handlers on the local replica's watches. The replica is
 * replaced when a snapshot is installed (its old watches go silent), so
 * `follow` (called on every control-plane tick) watches the new one and
 * calls `replaced`, for a resync of what changed unseen.
 */
export function storeWatches (store: () => ObjectStore, handlers: Readonly<Record<string, (type: WatchEventType, o: KubeObject) => void>>, replaced: () => void): { follow: () => void, stop: () => void } {
  let watched: ObjectStore | undefined
  let stops: Array<() => void> = []
  const stop = (): void => {
    for (const s of stops) s()
    stops = []
  }
  return {
    follow () {
      const current = store()
      if (current === watched) return
      const first = watched === undefined
      stop()
      watched = current
      for (const [resource, on] of Object.entries(handlers)) {
        const w = current.watch({ resource }, e => { on(e.type, e.object) })
        if (w.ok) stops.push(w.stop)
      }
      if (!first) replaced()
    },
    stop
  }
}

/** The objects of `resource` in the store, in one namespace or all. */
export function listOf (store: ObjectStore, resource: string, namespace?: string): readonly KubeObject[] {
  const r = store.list(resource, namespace !== undefined ? { namespace } : {})
  return r.ok ? r.items : []
}

/** What a controller on the replica says of itself; the rest it takes from ControllerDeps. */
export interface StoreControllerSpec extends Pick<KeyedControllerInit, 'name' | 'reconcile' | 'keys' | 'resyncMs'> {
  /** What each watched resource's change queues: the keys it returns. Called only while active. */
  readonly handlers: Readonly<Record<string, (type: WatchEventType, o: KubeObject) => readonly string[]>>
}

export interface StoreController extends KeyedController {
  /** Watch the store again if it was replaced, and catch up: call on every control-plane tick. */
  follow: () => void
}

/**
 * A keyed controller fed by the local replica's watches: each handler maps
 * a change to the keys it concerns. A follower takes no keys (the resync
 * on becoming active covers what it let pass).
 */
export function storeController (deps: ControllerDeps, spec: StoreControllerSpec): StoreController {
  const controller = keyedController({ ...spec, active: deps.active, log: deps.log, ...(deps.queue !== undefined ? { queue: deps.queue } : {}) })
  const handlers = Object.fromEntries(Object.entries(spec.handlers).map(([resource, keysOf]) => [resource, (type: WatchEventType, o: KubeObject) => {
    if (!deps.active()) return
    for (const key of keysOf(type, o)) controller.enqueue(key)
  }]))
  const watches = storeWatches(deps.store, handlers, () => { if (deps.active()) controller.resync() })
  return {
    ...controller,
    follow: watches.follow,
    start () {
      watches.follow()
      controller.start()
    },
    async stop () {
      watches.stop()
      await controller.stop()
    }
  }
}

/** What every controller on the replica needs from the agent. */
export interface ControllerDeps {
  /** The local replica (replaced when a snapshot is installed). */
  readonly store: () => ObjectStore
  readonly write: (cmd: ObjectCommand) => Promise<Result>
  /** This agent leads and has caught up. */
  readonly active: () => boolean
  /** RFC 3339, to the second. */
  readonly now: () => string
  readonly log: Logger
  readonly queue?: WorkQueueOptions
}

/**
 * Write one reconcile's commands, in parallel (a burst of pods should be),
 * every one awaited before the key is done, so the next reconcile sees
 * them. A new object's uid is the proposer's to choose (the pure
 * controllers leave it empty: ReplicatedStore.write fills it). Throws, for
 * a retry with backoff, when any is refused but as NotFound: what was to
 * change went meanwhile, and its own event brings the key back.
 */
export async function writeAll (write: ControllerDeps['write'], commands: readonly ObjectCommand[], key: string): Promise<void> {
  const results = await Promise.all(commands.map(async cmd => await write(cmd)))
  const refused = results.flatMap((r, i) => !r.ok && r.reason !== 'NotFound' ? [`${commands[i]!.op} ${commands[i]!.resource}: ${r.reason}: ${r.message}`] : [])
  if (refused.length > 0) throw new Error(`${key}: ${refused.length} of ${commands.length} writes refused: ${refused.join('; ')}`)
}
