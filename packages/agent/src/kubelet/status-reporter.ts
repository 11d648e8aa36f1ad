import type { MeshNode } from '../mesh/mesh.ts'
import type { Logger } from '../log.ts'
import { isRecord } from '@shoal/core/store/merge-patch.ts'

/**
 * Pod status travels from each kubelet to the Raft leader over gossipsub, on
 * this topic; only the leader folds it into the store (control/pod-status.ts).
 */
export const POD_STATUS_TOPIC = 'shoal/pod-status/1'

/** One pod's observed status: the pod's whole Kubernetes `status` object. */
export interface PodStatusReport {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** The pod's `status`; a JSON object (a receiver drops a message whose status is not one). */
  readonly status: unknown
}

/**
 * One gossip message. `epoch` (the reporter's start time) and `seq` (counts
 * messages within an epoch) order a node's messages, so the leader drops a
 * report that a newer one from the same node has already superseded, even
 * across a restart of that node. A full report lists every pod the kubelet
 * runs, split into `parts` messages when large.
 */
export interface PodStatusMessage {
  readonly type: 'pod-status'
  readonly node: string
  readonly epoch: number
  readonly seq: number
  readonly full: boolean
  readonly part?: number
  readonly parts?: number
  readonly pods: readonly PodStatusReport[]
}

/** Changes are gathered for this long before they are published, ms: a burst of container events makes one message. */
const BATCH_MS = 5
/** Upper bound on one message's encoded size, bytes; gossipsub frames are limited (4 MiB by default) and smaller messages spread faster. */
export const MAX_MESSAGE_BYTES = 128 * 1024

export interface StatusReporterComponents {
  readonly node: MeshNode
  /** This agent's member name: the pod's `spec.nodeName` when it is bound here. */
  readonly nodeName: string
  readonly log: Logger
  /** The epoch of this reporter's messages; default: the time it was created, ms. */
  readonly epoch?: number
  /**
   * This agent's own pod status sink (`PodStatusSink.deliver`): gossipsub does
   * not hand a node its own messages, so without it the leader would never
   * hear its own kubelet.
   */
  readonly local?: (msg: PodStatusMessage) => void
}

export interface StatusReporter {
  /** Publish these pods' new status soon (within a few ms), coalesced with other changes; the latest per pod wins. */
  report: (changes: readonly PodStatusReport[]) => void
  /**
   * Publish the status of every pod this kubelet runs, at once, marked full:
   * the kubelet calls it periodically and after a leader change, so what
   * gossip lost is repaired. Pending changes for the same pods are dropped.
   */
  reportFull: (all: readonly PodStatusReport[]) => Promise<void>
  /** Publish what is pending now; stop the timer. */
  stop: () => Promise<void>
}

/**
 * The kubelet's side of status reporting: coalesces changes per pod uid and
 * publishes them in bounded messages on POD_STATUS_TOPIC. Publishing is best
 * effort (gossip may drop a message); the periodic full report makes it
 * at-least-once in effect.
 */
export function createStatusReporter (c: StatusReporterComponents): StatusReporter {
  const log = c.log
  const pubsub = c.node.services.pubsub
  const epoch = c.epoch ?? Date.now()
  const pending = new Map<string, PodStatusReport>()
  let seq = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  const publish = async (pods: readonly PodStatusReport[], full: boolean): Promise<void> => {
    const chunks = splitReports(pods, c.nodeName)
    for (const [i, chunk] of chunks.entries()) {
      const msg: PodStatusMessage = {
        type: 'pod-status',
        node: c.nodeName,
        epoch,
        seq: ++seq,
        full,
        ...(full ? { part: i + 1, parts: chunks.length } : {}),
        pods: chunk
      }
      c.local?.(msg)
      try {
        await pubsub.publish(POD_STATUS_TOPIC, new TextEncoder().encode(JSON.stringify(msg)))
      } catch (err) {
        if (!stopped) log.debug({ err: (err as Error).message, pods: chunk.length, full }, 'pod status publish failed')
      }
    }
  }

  const flush = async (): Promise<void> => {
    timer = undefined
    if (pending.size === 0) return
    const pods = [...pending.values()]
    pending.clear()
    await publish(pods, false)
  }

  return {
    report (changes) {
      for (const r of changes) pending.set(r.uid, r)
      if (timer === undefined && !stopped && pending.size > 0) {
        timer = setTimeout(() => { void flush() }, BATCH_MS)
      }
    },
    async reportFull (all) {
      for (const r of all) pending.delete(r.uid)
      // A full report of nothing still says "this node runs nothing" (one empty message).
      await publish(all, true)
    },
    async stop () {
      stopped = true
      clearTimeout(timer)
      await flush()
    }
  }
}

/**
 * Split reports into groups whose message stays under MAX_MESSAGE_BYTES. A
 * single report larger than that (a pod with a huge status) goes alone.
 * Always at least one group, so a full report of no pods is still sent.
 */
export function splitReports (pods: readonly PodStatusReport[], nodeName: string, maxBytes = MAX_MESSAGE_BYTES): PodStatusReport[][] {
  // The envelope around the list: type, node, epoch, seq, full, part, parts.
  const envelope = 160 + nodeName.length
  const groups: PodStatusReport[][] = [[]]
  let size = envelope
  for (const p of pods) {
    const n = Buffer.byteLength(JSON.stringify(p)) + 1
    const current = groups[groups.length - 1]!
    if (current.length > 0 && size + n > maxBytes) {
      groups.push([p])
      size = envelope + n
    } else {
      current.push(p)
      size += n
    }
  }
  return groups
}

/** Check a received message's shape; undefined when it is not a well-formed pod status message. */
export function parsePodStatusMessage (raw: unknown): PodStatusMessage | undefined {
  if (!isRecord(raw) || raw.type !== 'pod-status') return undefined
  if (typeof raw.node !== 'string' || raw.node === '') return undefined
  if (!Number.isSafeInteger(raw.epoch) || !Number.isSafeInteger(raw.seq) || typeof raw.full !== 'boolean') return undefined
  if (!Array.isArray(raw.pods)) return undefined
  for (const p of raw.pods as unknown[]) {
    if (!isRecord(p) || typeof p.namespace !== 'string' || typeof p.name !== 'string' || p.name === '' || typeof p.uid !== 'string' || p.uid === '' || !isRecord(p.status)) return undefined
  }
  return raw as unknown as PodStatusMessage
}

