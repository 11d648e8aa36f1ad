import { randomBytes } from 'node:crypto'
import type { BatchResult, Command, KubeObject, Result } from '@shoal/core'
import type { KubeletEvent } from '@shoal/core/kubelet/index.ts'
import { eventCommand } from '@shoal/core/controllers/common.ts'
import type { Logger } from '../log.ts'

/** How the recorder writes: the replicated store's write (through Raft). */
export type EventWriter = (cmd: Command) => Promise<Result | BatchResult>

export interface EventRecorder {
  /** Record `event` about `pod`; a repeat of the same event within 10 minutes raises its count instead of making another. */
  record: (pod: KubeObject, event: KubeletEvent) => void
  /** Resolves once every write started so far has finished. */
  flush: () => Promise<void>
}

/** Kubernetes' event correlator folds repeats within this window into one Event with a count. */
const REPEAT_WINDOW_MS = 10 * 60_000
/** A repeat updates the stored count at most this often, ms: a crash loop must not flood Raft. */
const REPEAT_WRITE_MS = 5000

interface Seen {
  name: string
  namespace: string
  count: number
  first: string
  lastMs: number
  writtenMs: number
}

/**
 * The kubelet's Events, as `kubectl describe pod` and `get events` show
 * them: involvedObject the pod (with `spec.containers{NAME}` as fieldPath
 * for a container's event), source the kubelet of this node, a count and
 * first/last timestamps. Writes go through Raft and are fire-and-forget: an
 * event that cannot be written is logged, never an error of the sync.
 */
export function createEventRecorder (c: { node: string, write: EventWriter, now: () => number, log: Logger }): EventRecorder {
  const seen = new Map<string, Seen>()
  const pending = new Set<Promise<void>>()
  const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

  const track = (p: Promise<unknown>): void => {
    const done: Promise<void> = p.then(() => {}, (err: Error) => { c.log.debug({ err: err.message }, 'could not record an event') }).finally(() => { pending.delete(done) })
    pending.add(done)
  }

  return {
    record (pod, event) {
      const now = c.now()
      const namespace = pod.metadata.namespace ?? 'default'
      const key = `${pod.metadata.uid}\u0000${event.containerName ?? ''}\u0000${event.reason}\u0000${event.message}`
      for (const [k, s] of seen) if (now - s.lastMs > REPEAT_WINDOW_MS) seen.delete(k)
      const before = seen.get(key)
      if (before !== undefined) {
        before.count++
        before.lastMs = now
        if (now - before.writtenMs < REPEAT_WRITE_MS) return
        before.writtenMs = now
        track(c.write({ op: 'patch', resource: 'events', namespace, name: before.name, patch: { count: before.count, lastTimestamp: time(now) }, now: time(now) }))
        return
      }
      const name = `${pod.metadata.name}.${randomBytes(8).toString('hex')}`
      seen.set(key, { name, namespace, count: 1, first: time(now), lastMs: now, writtenMs: now })
      // A reference to the pod as the kubelet records one: no resourceVersion.
      const involved = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata.name, namespace, uid: pod.metadata.uid } } as unknown as KubeObject
      track(c.write(eventCommand({
        name,
        involved,
        reason: event.reason,
        message: event.message,
        type: event.type,
        component: 'kubelet',
        host: c.node,
        now: time(now),
        ...(event.containerName !== undefined && event.containerName !== '' ? { fieldPath: `spec.containers{${event.containerName}}` } : {})
      })))
    },
    async flush () {
      await Promise.allSettled([...pending])
    }
  }
}
