import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeObject, Member, ObjectStore } from '@shoal/core'
import { holdingsOf, imageKey, imagesOfNode, isImageID, locateImage, nodeStatusImages, soleHoldings, type NodeImage } from '@shoal/core/images/inventory.ts'
import { IMAGE_RECORDS, imageRecordName, imageRecordObject, imageRecordOf, imageRecords, isServed, pushedRecord, removedRecord, type ImageRecord } from '@shoal/core/images/records.ts'
import { ShoalError } from '@shoal/core'
import { isJsonEqual } from '@shoal/core/store/merge-patch.ts'
import type { Command } from '@shoal/core/store/types.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import type { ContainerRuntime } from '../kubelet/runtime.ts'
import type { Logger } from '../log.ts'
import { fetchImage, ImageTransferError, loadArchive, type ImageStore } from './transfer.ts'
import type { ArchiveCache } from './cache.ts'

/**
 * The cluster as its own registry mirror, on one agent:
 * - the inventory: the engine's tagged images go into this node's
 *   `status.images` (a status patch through Raft, only when they changed),
 *   checked every INVENTORY_MS and at once after an image arrived;
 * - `fetch`: an image this engine lacks, from a node that holds it
 *   (core/images/inventory.ts's locateImage picks the ID and orders the
 *   holders), over the mesh (transfer.ts), verified, loaded and tagged with
 *   the name the pod asked for. One transfer per image at a time on a node:
 *   the pods that wait for it share it. A holder that fails (gone, refused,
 *   broken off) is skipped for the next; when every holder left is busy
 *   (serving as many as it will), they are asked again shortly, and by then
 *   the nodes that got the image meanwhile hold it too.
 * The agent serves its own engine's images to the others (serveImages in
 * transfer.ts); a node that has fetched an image reports it, so later
 * fetches spread over every holder, a tree rather than a star.
 * An image only this node holds (built or loaded here) is exported into the
 * archive cache (cache.ts) at the next inventory check, one at a time, so
 * the first node that needs it gets it at once: Docker 20.10's `docker
 * save` writes the whole export to disk before its first byte (0.65 s for
 * 100 MB here).
 * `push` and `remove` keep what users said of a name in the store
 * (core/images/records.ts): a pushed ID wins over the others under the name,
 * and a removed name is neither served nor fetched, and is untagged here
 * where no container uses it (at each inventory check).
 */

/** How often the engine's images are compared with what the Node says, ms. */
const INVENTORY_MS = 5000
/** A holder at its limit of transfers (busy) is asked again after this long, ms. */
const BUSY_RETRY_MS = 250
/** How long a fetch keeps asking busy holders before it gives up, ms. */
const BUSY_DEADLINE_MS = 10 * 60_000
/** How often a transfer's holder is looked at (still a member? still sending?), ms. */
const HOLDER_CHECK_MS = 250
/** A holder that sent nothing for this long is given up for the next, ms. */
const STALL_MS = 20_000
/** How often the agent looks for its own Node until it has made its first report, ms: the images show soon after the node joins. */
const FIRST_REPORT_MS = 200
/** Images up to this size that only this node holds get an archive made ready before anyone asks (a quarter of the agent's archive disk). */
const PREPARE_MAX_BYTES = 512 * 1024 * 1024
/** An image whose export failed is not tried again for this long, ms (each try is a whole docker save). */
const PREPARE_RETRY_MS = 5 * 60_000

export interface ClusterImagesComponents {
  readonly node: string
  readonly mesh: MeshNode
  readonly runtime: Pick<ContainerRuntime, 'images' | 'imageID' | 'tagImage' | 'untagImage'>
  readonly imageStore: ImageStore
  /** The archives kept to serve from (cache.ts): dropped with their images, made ready for the images only this node holds. */
  readonly archives?: Pick<ArchiveCache, 'sweep' | 'has' | 'prepare'>
  readonly store: () => ObjectStore
  readonly write: (cmd: Command) => Promise<unknown>
  readonly members: () => readonly Member[]
  /** Where a transfer is kept until verified (the agent's data dir). */
  readonly tmpDir: string
  readonly log: Logger
  /** RFC 3339 time for commands; default now. */
  readonly now?: () => string
  /** The transfer (transfer.ts's fetchImage); tests give a stand-in. */
  readonly fetchImage?: typeof fetchImage
}

/** An image that came from a peer. */
export interface Fetched {
  readonly image: string
  readonly id: string
  /** The node it came from. */
  readonly from: string
  readonly bytes: number
  readonly ms: number
}

export type FetchOutcome =
  | ({ readonly ok: true } & Fetched)
  /** `none`: no other node holds it; `failed`: every holder was tried (message says why each failed). */
  | { readonly ok: false, readonly reason: 'none' | 'failed', readonly message: string }

/** How a fetch goes, for the pods waiting for it (the kubelet's Pulling events). */
export interface FetchWatcher {
  /** A transfer from `from` began; `total` is the image's size there. */
  onStart?: (from: string, total: number | undefined) => void
  onProgress?: (from: string, received: number, total: number | undefined) => void
}

/** What `push` did. */
export interface PushOutcome {
  readonly image: string
  readonly id: string
  /** Whether the archive came with the push (else a node held the image already). */
  readonly uploaded: boolean
  /** The nodes holding it when pushed. */
  readonly nodes: readonly string[]
}

/** What `remove` did. */
export interface RemoveOutcome {
  readonly image: string
  /** The IDs no longer served under the name. */
  readonly withdrawn: readonly string[]
}

export interface ClusterImages {
  start: () => void
  stop: () => Promise<void>
  /** Compare the engine's images with the Node's status now (after a pull or a fetch), and drop removed ones. */
  refresh: () => Promise<void>
  /** Bring `image` from a node that holds it into this engine (shared by everyone asking for it meanwhile; only stopping the agent cancels it). */
  fetch: (image: string, watcher?: FetchWatcher) => Promise<FetchOutcome>
  /**
   * `shoal image push`: pin `image` to `id` in the store. With `archive` (a
   * `docker save` of it, `size` its size), the image is checked and loaded
   * into this engine first; without, some node must hold it already
   * (ShoalError NotFound otherwise, so the client sends it).
   */
  push: (image: string, id: string, archive?: { source: AsyncIterable<Uint8Array>, size: number }) => Promise<PushOutcome>
  /** `shoal image rm`: withdraw every ID `image` has (ShoalError NotFound when no node holds it and nothing was pushed). */
  remove: (image: string) => Promise<RemoveOutcome>
  /** Whether this node serves image `id` to others (not when removed). */
  serves: (id: string) => Promise<boolean>
}

/** A number from the node's name: which holder it asks first (locateImage's spread). */
function spreadOf (name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0)
}

export function createClusterImages (c: ClusterImagesComponents): ClusterImages {
  const { log } = c
  const now = c.now ?? (() => new Date().toISOString().replace(/\.\d+Z$/, 'Z'))
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let running: Promise<void> | undefined
  let again = false
  const inflight = new Map<string, { outcome: Promise<FetchOutcome>, watchers: Set<FetchWatcher> }>()
  const stopping = new AbortController()

  const ownNode = (): KubeObject | undefined => c.store().get('nodes', '', c.node)
  const records = (): Map<string, ImageRecord> => {
    const listed = c.store().list(IMAGE_RECORDS.resource, {})
    return imageRecords(listed.ok ? listed.items : [])
  }
  const recordOf = (key: string): ImageRecord | undefined => imageRecordOf(c.store().get(IMAGE_RECORDS.resource, '', imageRecordName(key)))
  const nodes = (): readonly KubeObject[] => {
    const listed = c.store().list('nodes', {})
    return listed.ok ? listed.items : []
  }
  const saveRecord = async (r: ImageRecord): Promise<void> => {
    const exists = c.store().get(IMAGE_RECORDS.resource, '', imageRecordName(r.image)) !== undefined
    const object = imageRecordObject(r)
    const result = await c.write(exists
      ? { op: 'update', resource: IMAGE_RECORDS.resource, object, now: now() }
      : { op: 'create', resource: IMAGE_RECORDS.resource, object, uid: '', now: now() }) as { ok?: boolean, reason?: string, code?: number, message?: string } | undefined
    if (result?.ok === false) throw new ShoalError(result.reason ?? 'InternalError', result.code ?? 500, `could not record image ${r.image}: ${result.message ?? 'the store refused'}`)
  }

  /**
   * Take names `shoal image rm` withdrew off this engine, where no container
   * uses them (the engine keeps those; they are not served). Returns whether
   * a name went.
   */
  const prune = async (): Promise<boolean> => {
    const recs = records()
    if (![...recs.values()].some(r => r.withdrawn.length > 0)) return false
    let removed = false
    for (const image of await c.runtime.images()) {
      for (const tag of image.tags) {
        const key = imageKey(tag)
        if (key === undefined || recs.get(key)?.withdrawn.includes(image.id) !== true) continue
        const done = await c.runtime.untagImage(tag)
        if (done === 'removed') {
          removed = true
          log.info({ image: tag, id: image.id }, 'dropped an image removed from the cluster')
        } else if (done === 'in-use') {
          log.debug({ image: tag, id: image.id }, 'kept an image removed from the cluster: a container uses it')
        }
      }
    }
    return removed
  }

  /** Whether the Node says what the engine holds (false while the Node does not exist yet). */
  const report = async (): Promise<boolean> => {
    const node = ownNode()
    if (node === undefined) return false
    const engine = await c.runtime.images()
    await c.archives?.sweep(new Set(engine.map(i => i.id))).catch((err: Error) => { log.debug({ err: err.message }, 'could not sweep the image archives') })
    const images: NodeImage[] = nodeStatusImages(engine)
    if (isJsonEqual(images, imagesOfNode(node))) return true
    await c.write({ op: 'patch', resource: 'nodes', namespace: '', name: c.node, patch: { status: { images } }, now: now(), scope: 'status' })
    log.debug({ images: images.length }, 'reported the engine\'s images')
    return true
  }
  let reported = false

  /** One report at a time; a request during one runs another after it. */
  const refresh = async (): Promise<void> => {
    if (stopped) return
    if (running !== undefined) {
      again = true
      return await running
    }
    running = (async () => {
      try {
        do {
          again = false
          // An engine that fails is asked again at the slow pace: only a missing Node is worth the fast one.
          await prune().catch((err: Error) => { log.warn({ err: err.message }, 'could not drop removed images') })
          if (await report().catch((err: Error) => { log.debug({ err: err.message }, 'could not report the engine\'s images'); return true })) reported = true
          prepareSole()
        } while (again && !stopped)
      } finally {
        running = undefined
      }
    })()
    return await running
  }

  let preparing: Promise<void> | undefined
  /** When an image's export last failed, by ID. */
  const prepareFailed = new Map<string, number>()
  /** Export the images only this node holds into the archive cache, in the background, one at a time. */
  const prepareSole = (): void => {
    const archives = c.archives
    if (archives === undefined || preparing !== undefined || stopped) return
    for (const [id, at] of prepareFailed) if (performance.now() - at > PREPARE_RETRY_MS) prepareFailed.delete(id)
    const wanted = soleHoldings(nodes(), c.node, records()).filter(i => i.sizeBytes <= PREPARE_MAX_BYTES && !prepareFailed.has(i.id))
    if (wanted.length === 0) return
    preparing = (async () => {
      for (const { id, sizeBytes } of wanted) {
        if (stopped || await archives.has(id)) continue
        const t0 = performance.now()
        try {
          // A signal of its own per export: the engine's export hangs a listener on it.
          if (await archives.prepare(id, AbortSignal.any([stopping.signal]))) log.info({ id, bytes: sizeBytes, ms: Math.round(performance.now() - t0) }, 'made an archive ready of an image only this node holds')
        } catch (err) {
          if (stopped) return
          prepareFailed.set(id, performance.now())
          log.debug({ id, err: (err as Error).message }, 'could not make an image archive ready')
        }
      }
    })().finally(() => { preparing = undefined })
  }

  /** Fetch `image`, whose canonical name is `key` (imageKey). */
  const fetchOnce = async (image: string, key: string, watchers: ReadonlySet<FetchWatcher>, signal: AbortSignal): Promise<FetchOutcome> => {
    const t0 = performance.now()
    const failures = new Map<string, string>()
    let id = ''
    await mkdir(c.tmpDir, { recursive: true })
    // While every holder left is busy, ask again (more may hold it by then: the nodes that just fetched it).
    for (let round = 0; ; round++) {
      const at = locateImage(image, nodes(), c.node, spreadOf(c.node) + round, recordOf(key))
      if (at === undefined) return { ok: false, reason: 'none', message: `no other node holds ${image}` }
      id = at.id
      const members = new Map(c.members().filter(m => m.state === 'alive' || m.state === 'suspect').map(m => [m.name, m]))
      let busy = false
      for (const holder of at.holders) {
        if (failures.has(holder.node)) continue
        const m = members.get(holder.node)
        if (m === undefined) {
          failures.set(holder.node, `${holder.node}: not reachable (not an alive member)`)
          continue
        }
        // A holder that dies, or stops sending, mid-transfer is left for the next: its connection may take long to fail by itself.
        const holderGone = new AbortController()
        let lastByteMs = performance.now()
        const watch = setInterval(() => {
          const seen = c.members().find(x => x.name === holder.node)
          if (seen === undefined || (seen.state !== 'alive' && seen.state !== 'suspect')) {
            holderGone.abort(new ImageTransferError('broken', `node ${holder.node} went away mid-transfer (${seen?.state ?? 'no longer a member'})`))
          } else if (performance.now() - lastByteMs > STALL_MS) {
            holderGone.abort(new ImageTransferError('broken', `node ${holder.node} sent nothing for ${STALL_MS / 1000} s`))
          }
        }, HOLDER_CHECK_MS)
        try {
          let started = false
          const onProgress = (received: number, total: number | undefined): void => {
            lastByteMs = performance.now()
            for (const w of watchers) {
              if (!started) w.onStart?.(m.name, total)
              w.onProgress?.(m.name, received, total)
            }
            started = true
          }
          const { bytes } = await (c.fetchImage ?? fetchImage)(c.mesh, { name: m.name, peerId: m.peerId, addrs: m.addrs }, at.id, c.imageStore, { tmpDir: c.tmpDir, signal: AbortSignal.any([signal, holderGone.signal]), onProgress })
          await c.runtime.tagImage(at.id, key)
          const ms = Math.round(performance.now() - t0)
          log.info({ image, id: at.id, from: m.name, bytes, ms }, 'fetched image from a peer')
          refresh().catch(() => {})
          return { ok: true, image, id: at.id, from: m.name, bytes, ms }
        } catch (thrown) {
          if (signal.aborted) throw thrown
          const err = holderGone.signal.aborted ? holderGone.signal.reason as unknown : thrown
          if (err instanceof ImageTransferError && err.kind === 'busy') {
            busy = true
            continue
          }
          const message = err instanceof ImageTransferError ? err.message : `${holder.node}: ${(err as Error).message}`
          log.warn({ image, from: holder.node, err: message }, 'could not fetch image from a peer')
          failures.set(holder.node, message)
        } finally {
          clearInterval(watch)
        }
      }
      if (!busy || performance.now() - t0 > BUSY_DEADLINE_MS) break
      await sleep(BUSY_RETRY_MS, undefined, { signal })
    }
    const why = failures.size > 0 ? [...failures.values()].join('; ') : 'every holder stayed busy'
    return { ok: false, reason: 'failed', message: `every node holding ${image} (${id.slice(0, 19)}…) failed: ${why}` }
  }

  return {
    start () {
      // Transfers a killed agent left half-way: never loaded, never to be.
      rmSync(c.tmpDir, { recursive: true, force: true })
      // Until the node's first report (its Node is made when the leader sees it), every FIRST_REPORT_MS; then every INVENTORY_MS.
      const tick = (): void => {
        refresh().catch(() => {}).finally(() => {
          if (stopped) return
          timer = setTimeout(tick, reported ? INVENTORY_MS : FIRST_REPORT_MS)
          timer.unref()
        })
      }
      tick()
    },
    async stop () {
      stopped = true
      stopping.abort(new Error('the agent is stopping'))
      if (timer !== undefined) clearTimeout(timer)
      await running?.catch(() => {})
      await preparing
      await Promise.allSettled([...inflight.values()].map(f => f.outcome))
    },
    refresh,
    async fetch (image, watcher) {
      const key = imageKey(image)
      // Not a name an engine lists (invalid, or pinned by digest): no node can be said to hold it.
      if (key === undefined) return { ok: false, reason: 'none', message: `no other node holds ${image}` }
      const shared = inflight.get(key)
      if (shared !== undefined) {
        if (watcher !== undefined) shared.watchers.add(watcher)
        try {
          return await shared.outcome
        } finally {
          if (watcher !== undefined) shared.watchers.delete(watcher)
        }
      }
      const watchers = new Set<FetchWatcher>(watcher !== undefined ? [watcher] : [])
      const outcome = fetchOnce(image, key, watchers, stopping.signal)
      inflight.set(key, { outcome, watchers })
      try {
        return await outcome
      } finally {
        inflight.delete(key)
      }
    },
    async push (image, id, archive) {
      const key = imageKey(image)
      if (key === undefined) throw new ShoalError('BadRequest', 400, `${JSON.stringify(image)} is not an image name that can be pushed (NAME[:TAG], not pinned by a digest)`)
      if (!isImageID(id)) throw new ShoalError('BadRequest', 400, `${JSON.stringify(id)} is not an image ID: that is "sha256:" and 64 lowercase hex digits`)
      let uploaded = false
      if (archive !== undefined) {
        await mkdir(c.tmpDir, { recursive: true })
        try {
          await loadArchive(archive.source, id, archive.size, c.imageStore, { tmpDir: c.tmpDir, signal: stopping.signal })
        } catch (err) {
          if (err instanceof ImageTransferError) throw new ShoalError(err.kind === 'load' ? 'InternalError' : 'BadRequest', err.kind === 'load' ? 500 : 400, err.message)
          throw err
        }
        uploaded = true
      } else if (await c.imageStore.size(id).catch(() => undefined) === undefined) throw new ShoalError('NotFound', 404, `node ${c.node} does not hold image ${id}: push its archive`)
      // The record first: it takes the ID off the withdrawn ones, which the report below would drop again.
      await saveRecord(pushedRecord(recordOf(key), key, id))
      // Named here as pushed, so this node serves it by that name, and its Node says so before push returns.
      await c.runtime.tagImage(id, key)
      await refresh()
      const held = holdingsOf(key, nodes()).filter(h => h.id === id).map(h => h.node)
      log.info({ image: key, id, uploaded }, 'image pushed')
      return { image: key, id, uploaded, nodes: [...held].sort() }
    },
    async remove (image) {
      const key = imageKey(image)
      if (key === undefined) throw new ShoalError('BadRequest', 400, `${JSON.stringify(image)} is not an image name (NAME[:TAG], not pinned by a digest)`)
      const prev = recordOf(key)
      const ids = new Set(holdingsOf(key, nodes()).map(h => h.id))
      if (prev?.id !== undefined) ids.add(prev.id)
      for (const w of prev?.withdrawn ?? []) ids.delete(w)
      if (ids.size === 0) throw new ShoalError('NotFound', 404, `no node holds an image named ${key}`)
      const next = removedRecord(prev, key, [...ids])
      await saveRecord(next)
      log.info({ image: key, ids: [...ids] }, 'image removed from the cluster')
      refresh().catch(() => {})
      return { image: key, withdrawn: [...ids].sort() }
    },
    async serves (id) {
      const recs = records()
      if (![...recs.values()].some(r => r.withdrawn.includes(id))) return true
      const names = (await c.runtime.images()).find(i => i.id === id)?.tags.map(t => imageKey(t)).filter((k): k is string => k !== undefined) ?? []
      return isServed(recs, id, names)
    }
  }
}
