import type { KubeObject } from '../store/types.ts'
import { parseImageRef, withDefaultTag } from './ref.ts'
import type { ImageRecord } from './records.ts'
import { nodeIsReady } from '../controllers/common.ts'

/**
 * Which node holds which image, cluster-wide. Every kubelet reports its
 * engine's tagged images in its Node's `status.images`, as Kubernetes'
 * kubelet does (names, sizeBytes), with the image's ID (`sha256:…`, the
 * digest of its config) as the last name: transfers between nodes are by ID
 * (agent/images/transfer.ts). The Node object, not the heartbeat, carries
 * it: the list changes rarely and is kilobytes, while heartbeats go out
 * twice a second; in the store it is known even while its node is down, and
 * `kubectl get node -o yaml` shows it.
 */

/** An image as the engine lists it. */
export interface EngineImage {
  /** `sha256:<64 hex>`. */
  readonly id: string
  /** Its tags as the engine prints them (`kub-first-app:latest`, `registry:5000/x:1`). */
  readonly tags: readonly string[]
  readonly sizeBytes: number
}

/** One entry of a Node's `status.images` (Kubernetes' ContainerImage). */
export interface NodeImage {
  readonly names: readonly string[]
  readonly sizeBytes: number
}

/** At most this many entries per Node (the largest first, as the kubelet orders them): bounds the object. */
export const MAX_NODE_IMAGES = 256

const ID = /^sha256:[0-9a-f]{64}$/

export function isImageID (s: string): boolean {
  return ID.test(s)
}

/**
 * The canonical key of an image reference, for comparing what a pod asks
 * for with what engines list: `:latest` added when untagged, Docker Hub's
 * implicit `docker.io/` and `library/` dropped (`docker.io/library/nginx`
 * is listed as `nginx`). Undefined for an invalid reference, or one pinned
 * by digest (a digest reference cannot be recreated on a node by a tag).
 */
export function imageKey (image: string): string | undefined {
  const ref = parseImageRef(image)
  if ('invalid' in ref || ref.digest !== undefined) return undefined
  const full = withDefaultTag(ref)
  if (full.startsWith('docker.io/library/')) return full.slice('docker.io/library/'.length)
  if (full.startsWith('index.docker.io/library/')) return full.slice('index.docker.io/library/'.length)
  if (full.startsWith('docker.io/')) return full.slice('docker.io/'.length)
  return full
}

/** A Node's `status.images` for the engine's images: the tagged ones, largest first, each named by its tags then its ID. */
export function nodeStatusImages (images: readonly EngineImage[]): NodeImage[] {
  return images
    .filter(i => isImageID(i.id))
    .map(i => ({ tags: i.tags.filter(t => t !== '<none>:<none>' && imageKey(t) !== undefined).sort(), i }))
    .filter(x => x.tags.length > 0)
    .sort((a, b) => b.i.sizeBytes - a.i.sizeBytes || (a.i.id < b.i.id ? -1 : a.i.id > b.i.id ? 1 : 0))
    .slice(0, MAX_NODE_IMAGES)
    .map(x => ({ names: [...x.tags, x.i.id], sizeBytes: x.i.sizeBytes }))
}

/** The images a Node's status says it holds (malformed entries skipped). */
export function imagesOfNode (node: KubeObject): NodeImage[] {
  const list = (node.status as { images?: unknown } | undefined)?.images
  if (!Array.isArray(list)) return []
  return list.filter((e): e is NodeImage => typeof e === 'object' && e !== null && Array.isArray((e as NodeImage).names) &&
    (e as NodeImage).names.every(n => typeof n === 'string') && typeof (e as NodeImage).sizeBytes === 'number')
}


export interface ImageHolder {
  readonly node: string
  readonly ready: boolean
}

/** A node's copy of an image under a name: the image's ID and size there. */
export interface ImageHolding extends ImageHolder {
  readonly id: string
  readonly sizeBytes: number
}

/** Every copy the Nodes report under the name `key` (imageKey's form), in the order of `nodes`. */
export function holdingsOf (key: string, nodes: readonly KubeObject[]): ImageHolding[] {
  const out: ImageHolding[] = []
  for (const node of nodes) {
    for (const entry of imagesOfNode(node)) {
      const id = entry.names.find(isImageID)
      if (id !== undefined && entry.names.some(n => !isImageID(n) && imageKey(n) === key)) {
        out.push({ node: node.metadata.name, ready: nodeIsReady(node), id, sizeBytes: entry.sizeBytes })
      }
    }
  }
  return out
}

export interface ImageLocation {
  /** The ID the cluster's copy has. */
  readonly id: string
  readonly sizeBytes: number
  /** Nodes holding it: Ready ones first, in an order that differs per asker (`spread`), so a rollout's fetches spread over the holders. */
  readonly holders: readonly ImageHolder[]
  /** Other IDs some nodes hold under the same name (not chosen). */
  readonly others: readonly string[]
}

/**
 * Where the cluster holds `image` (nodes other than `self`). When nodes hold
 * different images under one name, the rule is deterministic: the ID pushed
 * under that name (`record`, from `shoal image push`) if any node holds it;
 * else the ID that the most Ready nodes hold, then the most nodes, then the
 * smallest ID. IDs the record withdrew (`shoal image rm`) are never chosen.
 * `spread` (any integer, e.g. a hash of the asking node's name) rotates the
 * Ready holders, so that nodes asking at once do not all pick the first.
 * Undefined when no other node reports it.
 */
export function locateImage (image: string, nodes: readonly KubeObject[], self: string, spread = 0, record?: ImageRecord): ImageLocation | undefined {
  const key = imageKey(image)
  if (key === undefined) return undefined
  const withdrawn = new Set(record?.image === key ? record.withdrawn : [])
  const pinned = record?.image === key ? record.id : undefined
  const byId = new Map<string, { sizeBytes: number, holders: ImageHolder[] }>()
  const others = [...nodes].filter(n => n.metadata.name !== self).sort((a, b) => a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0)
  for (const h of holdingsOf(key, others)) {
    if (withdrawn.has(h.id)) continue
    const at = byId.get(h.id) ?? { sizeBytes: h.sizeBytes, holders: [] }
    at.holders.push({ node: h.node, ready: h.ready })
    byId.set(h.id, at)
  }
  if (byId.size === 0) return undefined
  const ranked = [...byId].sort(([ida, a], [idb, b]) => {
    const ready = (x: typeof a): number => x.holders.filter(h => h.ready).length
    return Number(idb === pinned) - Number(ida === pinned) || ready(b) - ready(a) || b.holders.length - a.holders.length || (ida < idb ? -1 : 1)
  })
  const [id, chosen] = ranked[0]!
  const ready = chosen.holders.filter(h => h.ready)
  const shift = ready.length === 0 ? 0 : ((spread % ready.length) + ready.length) % ready.length
  const holders = [...ready.slice(shift), ...ready.slice(0, shift), ...chosen.holders.filter(h => !h.ready)]
  return { id, sizeBytes: chosen.sizeBytes, holders, others: ranked.slice(1).map(([other]) => other) }
}

/** One row of `shoal image ls`: a name, the ID it has, and the nodes holding that. */
export interface ClusterImageRow {
  readonly name: string
  readonly id: string
  readonly sizeBytes: number
  readonly nodes: readonly string[]
}

/** Every (name, ID) the Nodes report, sorted by name then ID, with the nodes holding each; (name, ID) pairs `records` withdrew are left out, as the cluster does not serve them. */
export function clusterImages (nodes: readonly KubeObject[], records: ReadonlyMap<string, ImageRecord> = new Map()): ClusterImageRow[] {
  const rows = new Map<string, { name: string, id: string, sizeBytes: number, nodes: string[] }>()
  for (const node of nodes) {
    for (const entry of imagesOfNode(node)) {
      const id = entry.names.find(isImageID)
      if (id === undefined) continue
      for (const name of entry.names) {
        if (isImageID(name) || records.get(imageKey(name) ?? name)?.withdrawn.includes(id) === true) continue
        const k = `${name}\n${id}`
        const row = rows.get(k) ?? { name, id, sizeBytes: entry.sizeBytes, nodes: [] }
        if (!row.nodes.includes(node.metadata.name)) row.nodes.push(node.metadata.name)
        rows.set(k, row)
      }
    }
  }
  return [...rows.values()]
    .map(r => ({ ...r, nodes: r.nodes.sort() }))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The images (by ID) that node `self` alone holds among the Ready nodes,
 * under a name the cluster serves (not withdrawn in `records`), smallest
 * first: the copies the others would have to fetch from it. Nothing in a
 * cluster of one node.
 */
export function soleHoldings (nodes: readonly KubeObject[], self: string, records: ReadonlyMap<string, ImageRecord> = new Map()): Array<{ id: string, sizeBytes: number }> {
  if (nodes.length < 2) return []
  const counted = nodes.filter(n => n.metadata.name === self || nodeIsReady(n))
  const holders = new Map<string, { sizeBytes: number, nodes: Set<string> }>()
  for (const row of clusterImages(counted, records)) {
    const h = holders.get(row.id) ?? { sizeBytes: row.sizeBytes, nodes: new Set<string>() }
    for (const n of row.nodes) h.nodes.add(n)
    holders.set(row.id, h)
  }
  return [...holders]
    .filter(([, h]) => h.nodes.size === 1 && h.nodes.has(self))
    .map(([id, h]) => ({ id, sizeBytes: h.sizeBytes }))
    .sort((a, b) => a.sizeBytes - b.sizeBytes || (a.id < b.id ? -1 : 1))
}
