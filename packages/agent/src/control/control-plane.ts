import { randomBytes, randomUUID } from 'node:crypto'
import type { BatchResult, KubeObject, Member, ObjectCommand, Result } from '@shoal/core'
import { reconcileNodes } from '@shoal/core/controllers/nodes.ts'
import { batchOf, bindingBatches, bindingCommands, schedule, splitBatchResult, unschedulableCommands, type BindingPlan, type EventIds } from '@shoal/core/scheduler/index.ts'
import type { ReplicatedStore } from '../store/replicated-store.ts'
import type { Logger } from '../log.ts'
import { VERSION } from '../version.ts'

export interface ControlPlaneComponents {
  readonly store: ReplicatedStore
  readonly members: () => Member[]
  /** True while this agent leads Raft: only the leader runs the controllers. */
  readonly leading: () => boolean
  readonly log: Logger
}

export interface ControlPlane {
  start: () => void
  stop: () => Promise<void>
}

/** How often the leader reconciles when nothing prompts it, ms: membership changes show in the store within this. */
const RECONCILE_MS = 250
/** After a change in the store, how long the leader waits for more before a round, ms: changes arriving together are handled together. */
const KICK_MS = 5
/** The resources whose changes start a round at once. */
const WATCHED = ['pods', 'nodes', 'replicasets', 'deployments'] as const

const rfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/**
 * The master's loops: on the agent that leads Raft, the controllers and the
 * scheduler run against the local replica and propose what they decide. A
 * round looks at the whole state (level-triggered), so a new leader simply
 * carries on from what the store holds; it runs every RECONCILE_MS, and at
 * once when the store changes. Rounds never overlap, and each waits for its
 * writes to be applied here, so the next round sees them: nothing is
 * decided twice from a stale view.
 */
export function createControlPlane (c: ControlPlaneComponents): ControlPlane {
  let timer: ReturnType<typeof setInterval> | undefined
  let kick: ReturnType<typeof setTimeout> | undefined
  let round: Promise<void> | undefined
  let again = false
  let stopped = false
  const watches: Array<() => void> = []
  const ids: EventIds = { eventName: pod => `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, uid: () => randomUUID() }

  const list = (resource: string): readonly KubeObject[] => {
    const r = c.store.local.list(resource, {})
    return r.ok ? r.items : []
  }

  /** Write commands one by one (in parallel); a refusal is for the next round to see, not an error. */
  const writeEach = async (what: string, commands: readonly ObjectCommand[]): Promise<void> => {
    await Promise.all(commands.map(async cmd => {
      const r = await c.store.write(cmd.op === 'create' && cmd.uid === '' ? { ...cmd, uid: randomUUID() } : cmd) as Result
      if (!r.ok && r.reason !== 'Conflict' && r.reason !== 'NotFound') c.log.debug({ what, cmd: cmd.op, result: r }, 'controller write refused')
    }))
  }

  const nodes = async (now: string): Promise<void> => {
    const commands = reconcileNodes({
      members: c.members(),
      nodes: list('nodes'),
      now,
      kubeletVersion: v => `v1.32.0-shoal-${v}`,
      eventName: node => `${node}.${randomBytes(8).toString('hex')}`
    })
    await writeEach('nodes', commands.map(cmd => cmd.op === 'create' ? { ...cmd, uid: randomUUID() } : cmd))
  }

  /** Bind pending pods: batches of bindings, each tried again without the pods that failed in it. */
  const scheduler = async (now: string): Promise<void> => {
    const pods = list('pods')
    const pending = pods.filter(p => (p.spec as { nodeName?: string } | undefined)?.nodeName === undefined)
    if (pending.length === 0) return
    const bound = pods.filter(p => (p.spec as { nodeName?: string } | undefined)?.nodeName !== undefined)
    const result = schedule({ pending, nodes: list('nodes'), bound, now })
    for (const batch of bindingBatches(bindingCommands(result, now, ids))) {
      for (let todo: readonly BindingPlan[] = batch.plans; todo.length > 0;) {
        const r = await c.store.write(batchOf(todo)) as BatchResult
        todo = splitBatchResult(todo, r).retry
      }
    }
    await writeEach('scheduler', result.unschedulable.flatMap(u => unschedulableCommands(u, now, ids)))
  }

  const reconcile = async (): Promise<void> => {
    if (!c.leading()) return
    const now = rfc3339()
    await nodes(now)
    await scheduler(now)
  }

  const run = (): void => {
    if (stopped) return
    if (round !== undefined) {
      again = true
      return
    }
    round = reconcile()
      .catch((err: Error) => { c.log.debug({ err: err.message }, 'control plane round failed') })
      .finally(() => {
        round = undefined
        if (again) {
          again = false
          run()
        }
      })
  }

  /** A change in the store: a round soon, if this agent leads. */
  const onChange = (): void => {
    if (kick !== undefined || stopped || !c.leading()) return
    kick = setTimeout(() => {
      kick = undefined
      run()
    }, KICK_MS)
  }

  return {
    start () {
      c.log.debug({ version: VERSION }, 'control plane ready (runs while this agent leads)')
      for (const resource of WATCHED) {
        const w = c.store.local.watch({ resource }, onChange)
        if (w.ok) watches.push(w.stop)
      }
      timer = setInterval(run, RECONCILE_MS)
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      clearTimeout(kick)
      for (const stop of watches) stop()
      await round
    }
  }
}
