import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeObject, Member, ObjectStore } from '@shoal/core'
import { imageKey, imagesOfNode, locateImage, nodeStatusImages, type NodeImage } from '@shoal/core/images/inventory.ts'
import { isJsonEqual } from '@shoal/core/store/merge-patch.ts'
import type { Command } from '@shoal/core/store/types.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import type { ContainerRuntime } from '../kubelet/runtime.ts'
import type { Logger } from '../log.ts'
import { fetchImage, ImageTransferError, type ImageStore } from './transfer.ts'

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
 */

/** How often the engine's images are compared with what the Node says, ms. */
const INVENTORY_MS = 5000
/** A holder at its limit of transfers (busy) is asked again after this long, ms. */
const BUSY_RETRY_MS = 250
/** How long a fetch keeps asking busy holders before it gives up, ms. */
const BUSY_DEADLINE_MS = 10 * 60_000
/** How often the agent looks for its own Node until it has made its first report, ms: the images show soon after the node joins. */
const FIRST_REPORT_MS = 200

export interface ClusterImagesComponents {
  readonly node: string
  readonly mesh: MeshNode
  readonly runtime: Pick<ContainerRuntime, 'images' | 'imageID' | 'tagImage'>
  readonly imageStore: ImageStore
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

export interface ClusterImages {
  start: () => void
  stop: () => Promise<void>
  /** Compare the engine's images with the Node's status now (after a pull or a fetch). */
  refresh: () => Promise<void>
  /** Bring `image` from a node that holds it into this engine (shared by everyone asking for it meanwhile; only stopping the agent cancels it). */
  fetch: (image: string) => Promise<FetchOutcome>
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
  const inflight = new Map<string, Promise<FetchOutcome>>()
  const stopping = new AbortController()

  const ownNode = (): KubeObject | undefined => c.store().get('nodes', '', c.node)

  /** Whether the Node says what the engine holds (false while the Node does not exist yet). */
  const report = async (): Promise<boolean> => {
    const node = ownNode()
    if (node === undefined) return false
    const images: NodeImage[] = nodeStatusImages(await c.runtime.images())
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
          if (await report().catch((err: Error) => { log.debug({ err: err.message }, 'could not report the engine\'s images'); return true })) reported = true
        } while (again && !stopped)
      } finally {
        running = undefined
      }
    })()
    return await running
  }

  /** Fetch `image`, whose canonical name is `key` (imageKey). */
  const fetchOnce = async (image: string, key: string, signal: AbortSignal): Promise<FetchOutcome> => {
    const t0 = performance.now()
    const failures = new Map<string, string>()
    let id = ''
    await mkdir(c.tmpDir, { recursive: true })
    // While every holder left is busy, ask again (more may hold it by then: the nodes that just fetched it).
    for (let round = 0; ; round++) {
      const listed = c.store().list('nodes', {})
      const at = locateImage(image, listed.ok ? listed.items : [], c.node, spreadOf(c.node) + round)
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
        try {
          const { bytes } = await (c.fetchImage ?? fetchImage)(c.mesh, { name: m.name, peerId: m.peerId, addrs: m.addrs }, at.id, c.imageStore, { tmpDir: c.tmpDir, signal })
          await c.runtime.tagImage(at.id, key)
          const ms = Math.round(performance.now() - t0)
          log.info({ image, id: at.id, from: m.name, bytes, ms }, 'fetched image from a peer')
          refresh().catch(() => {})
          return { ok: true, image, id: at.id, from: m.name, bytes, ms }
        } catch (err) {
          if (signal.aborted) throw err
          if (err instanceof ImageTransferError && err.kind === 'busy') {
            busy = true
            continue
          }
          const message = err instanceof ImageTransferError ? err.message : `${holder.node}: ${(err as Error).message}`
          log.warn({ image, from: holder.node, err: message }, 'could not fetch image from a peer')
          failures.set(holder.node, message)
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
      await Promise.allSettled([...inflight.values()])
    },
    refresh,
    async fetch (image) {
      const key = imageKey(image)
      // Not a name an engine lists (invalid, or pinned by digest): no node can be said to hold it.
      if (key === undefined) return { ok: false, reason: 'none', message: `no other node holds ${image}` }
      const shared = inflight.get(key)
      if (shared !== undefined) return await shared
      const p = fetchOnce(image, key, stopping.signal)
      inflight.set(key, p)
      try {
        return await p
      } finally {
        inflight.delete(key)
      }
    }
  }
}
