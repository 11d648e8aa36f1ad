import type { Message } from '@libp2p/gossipsub'
import type { BatchResult, ObjectCommand, Result } from '@shoal/core'
import { isJsonEqual } from '@shoal/core/store/merge-patch.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import type { ReplicatedStore } from '../store/replicated-store.ts'
import type { Logger } from '../log.ts'
import { POD_STATUS_TOPIC, parsePodStatusMessage, type PodStatusMessage, type PodStatusReport } from '../kubelet/status-reporter.ts'

/** How often the leader commits what reports changed, ms: one Raft entry per round. */
const FLUSH_MS = 75
/** Status writes per Raft entry: bounds an entry's size (a pod status is a few KiB at most). */
const MAX_BATCH = 256
/** A round's write gives up after this long (leadership lost, say); the reports stay pending, ms. */
const WRITE_TIMEOUT_MS = 5000
/** How many times a batch is tried again without the commands that failed in it. */
const MAX_RETRIES = 3
/** Every this many rounds, forget the order of pods that are gone. */
const PRUNE_EVERY = 200

export interface PodStatusSinkComponents {
  readonly node: MeshNode
  readonly store: Pick<ReplicatedStore, 'local' | 'write'>
  /** True while this agent leads Raft: only the leader writes. */
  readonly leading: () => boolean
  readonly log: Logger
  /**
   * The peer id of a member, by name. When given, a report is taken only
   * from the peer that signed it as the node it names (a node speaks only for
   * itself); without it, any member's report is taken.
   */
  readonly peerOf?: (nodeName: string) => string | undefined
  /** RFC 3339 time for commands; default: now, to the second. */
  readonly now?: () => string
}

export interface PodStatusSink {
  /** Take a message from this agent's own reporter (gossip does not loop back). */
  deliver: (msg: PodStatusMessage) => void
  start: () => void
  stop: () => Promise<void>
  /** What it has done so far, for tests and metrics. */
  counters: () => PodStatusSinkCounters
}

export interface PodStatusSinkCounters {
  /** Pod reports taken in, from gossip or deliver (a reporter sends what comes together as one message). */
  readonly received: number
  /** Messages dropped unread: malformed, or not signed by the node they speak for. */
  readonly dropped: number
  /** Rounds begun. */
  readonly rounds: number
  /** No round runs and no report waits for one (on a follower: no round runs). */
  readonly idle: boolean
}

/** What the sink remembers of a pod's last accepted report. */
interface Accepted {
  readonly node: string
  readonly epoch: number
  readonly seq: number
  readonly report: PodStatusReport
}

/**
 * The leader's side of pod status: every agent listens to the kubelets'
 * gossip and keeps the newest report per pod uid (so a new leader has them at
 * once), and the leader commits what differs from the store every FLUSH_MS,
 * in one batch. A report is skipped when its pod is gone or was replaced
 * (uid), is bound to another node than the reporter, or already has that
 * status. A batch is all or nothing: when one pod vanished meanwhile, the
 * batch is tried again without it.
 */
export function createPodStatusSink (c: PodStatusSinkComponents): PodStatusSink {
  const { log } = c
  const pubsub = c.node.services.pubsub
  const now = c.now ?? (() => new Date().toISOString().replace(/\.\d+Z$/, 'Z'))
  /** The newest report per pod uid, with its order. */
  const latest = new Map<string, Accepted>()
  /** uids whose latest report is not yet folded into the store. */
  const dirty = new Set<string>()
  let timer: ReturnType<typeof setInterval> | undefined
  let round: Promise<void> | undefined
  let rounds = 0
  let received = 0
  let dropped = 0
  let stopped = false

  const onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== POD_STATUS_TOPIC) return
    let parsed
    try {
      parsed = parsePodStatusMessage(JSON.parse(new TextDecoder().decode(msg.data)))
    } catch {
      parsed = undefined
    }
    if (parsed === undefined) {
      dropped++
      log.warn('dropped a malformed pod status message')
      return
    }
    if (c.peerOf !== undefined) {
      const sender = msg.type === 'signed' ? msg.from.toString() : undefined
      if (sender === undefined || sender !== c.peerOf(parsed.node)) {
        dropped++
        log.debug({ node: parsed.node, sender }, 'dropped a pod status message not signed by its node')
        return
      }
    }
    received += parsed.pods.length
    receive(parsed.node, parsed.epoch, parsed.seq, parsed.pods)
  }

  /** Keep each report unless one from the same node that is at least as new is already kept. */
  /**
   * One round at a time. A report starts a round at once when none runs (a
   * pod's first Running reaches the store without waiting for the timer);
   * what arrives during a round waits for the next, so rounds batch under load.
   */
  const runRound = (): void => {
    if (round !== undefined || stopped) return
    round = flush()
      .catch((err: Error) => { log.warn({ err: err.message }, 'pod status round failed') })
      .finally(() => { round = undefined })
  }

  const receive = (node: string, epoch: number, seq: number, pods: readonly PodStatusReport[]): void => {
    for (const report of pods) {
      const prev = latest.get(report.uid)
      if (prev !== undefined && prev.node === node && (prev.epoch > epoch || (prev.epoch === epoch && prev.seq >= seq))) continue
      latest.set(report.uid, { node, epoch, seq, report })
      dirty.add(report.uid)
    }
    if (dirty.size > 0 && c.leading()) runRound()
  }

  /** The status command for a report, or why it is skipped. */
  const commandFor = (a: Accepted): { cmd: ObjectCommand } | { skip: 'gone' | 'elsewhere' | 'unchanged' } => {
    const { namespace, name, uid, status } = a.report
    const pod = c.store.local.get('pods', namespace, name)
    if (pod === undefined || pod.metadata.uid !== uid) return { skip: 'gone' }
    if ((pod.spec as { nodeName?: unknown } | undefined)?.nodeName !== a.node) return { skip: 'elsewhere' }
    if (isJsonEqual(pod.status, status)) return { skip: 'unchanged' }
    return {
      cmd: {
        op: 'update',
        resource: 'pods',
        object: { apiVersion: pod.apiVersion, kind: pod.kind, metadata: { name, ...(namespace !== '' ? { namespace } : {}) }, status },
        now: now(),
        precondition: { uid },
        scope: 'status'
      }
    }
  }

  /** Commit one batch; on an all-or-nothing failure, try again without the commands that failed. */
  const commit = async (items: readonly Accepted[]): Promise<void> => {
    let todo = items
    for (let attempt = 0; attempt <= MAX_RETRIES && todo.length > 0; attempt++) {
      const built: Array<{ a: Accepted, cmd: ObjectCommand }> = []
      for (const a of todo) {
        const r = commandFor(a)
        if ('cmd' in r) built.push({ a, cmd: r.cmd })
      }
      if (built.length === 0) return
      let result: Result | BatchResult
      try {
        result = await c.store.write({ op: 'batch', commands: built.map(b => b.cmd) }, { timeoutMs: WRITE_TIMEOUT_MS })
      } catch (err) {
        // No leader, or no longer us: keep them for the next round unless newer reports came meanwhile.
        for (const b of built) if (latest.get(b.a.report.uid) === b.a) dirty.add(b.a.report.uid)
        log.debug({ err: (err as Error).message, pods: built.length }, 'pod status write failed; will retry')
        return
      }
      const results = 'results' in result ? result.results : [result]
      if (result.ok) {
        log.trace({ pods: built.length }, 'pod status committed')
        return
      }
      const failed = results.flatMap((r, i) => !r.ok && r.aborted !== true ? [i] : [])
      for (const i of failed) log.debug({ pod: `${built[i]!.a.report.namespace}/${built[i]!.a.report.name}`, result: results[i] }, 'pod status write refused')
      // Nothing to drop means the failure is not one command's: do not loop on it.
      if (failed.length === 0) return
      todo = built.filter((_b, i) => !failed.includes(i)).map(b => b.a)
    }
  }

  const flush = async (): Promise<void> => {
    rounds++
    if (rounds % PRUNE_EVERY === 0) {
      for (const [uid, a] of latest) {
        if (c.store.local.get('pods', a.report.namespace, a.report.name)?.metadata.uid !== uid) {
          latest.delete(uid)
          dirty.delete(uid)
        }
      }
    }
    if (dirty.size === 0 || !c.leading()) return
    const items: Accepted[] = []
    for (const uid of dirty) {
      const a = latest.get(uid)
      if (a !== undefined) items.push(a)
    }
    dirty.clear()
    for (let i = 0; i < items.length; i += MAX_BATCH) await commit(items.slice(i, i + MAX_BATCH))
  }

  return {
    deliver (msg) {
      received += msg.pods.length
      receive(msg.node, msg.epoch, msg.seq, msg.pods)
    },
    counters: () => ({ received, dropped, rounds, idle: round === undefined && (dirty.size === 0 || !c.leading()) }),
    start () {
      pubsub.addEventListener('message', onMessage)
      pubsub.subscribe(POD_STATUS_TOPIC)
      timer = setInterval(runRound, FLUSH_MS)
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      pubsub.removeEventListener('message', onMessage)
      try {
        pubsub.unsubscribe(POD_STATUS_TOPIC)
      } catch {
        // The mesh is already stopping.
      }
      await round
    }
  }
}
