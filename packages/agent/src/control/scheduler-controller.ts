import type { BatchCommand, BatchResult, KubeObject, WatchEventType } from '@shoal/core'
import { batchOf, bindingBatches, bindingCommands, schedule, splitBatchResult, unschedulableCommands, type BindingPlan, type EventIds } from '@shoal/core/scheduler/index.ts'
import { objectKey, podNodeName } from '@shoal/core/controllers/common.ts'
import { listOf, storeController, type ControllerDeps, type StoreController } from './keyed.ts'

/**
 * The scheduler on a work queue. Kubernetes' scheduler keeps a queue of
 * pending pods and tries them again on the cluster events that could make
 * room (queueing hints). Shoal schedules the pending pods together, so
 * that a burst is spread over the nodes in one pass and bound in batches:
 * its queue holds one key, and the watches keep the set of pending pods.
 * A pending pod's arrival or change queues a pass; while any pod waits, so
 * does what can make room: a node's change, a bound pod's deletion or end.
 * A pass that leaves pods unschedulable looks again after
 * UNSCHEDULABLE_RETRY_MS, for what no event announces. With nothing
 * pending, a change costs a set lookup and no pass.
 */

const PASS = 'pending'
/** How soon a pass that left pods unschedulable runs again, ms. */
export const UNSCHEDULABLE_RETRY_MS = 5_000

export interface SchedulerControllerInit extends ControllerDeps {
  readonly ids: EventIds
  /** Propose a batch of bindings: applied together, or each refused with why. */
  readonly writeBatch: (cmd: BatchCommand) => Promise<BatchResult>
}

const ended = (pod: KubeObject): boolean => {
  const phase = (pod.status as { phase?: string } | undefined)?.phase
  return phase === 'Succeeded' || phase === 'Failed'
}

export function createSchedulerController (c: SchedulerControllerInit): StoreController {
  const pending = new Set<string>()

  const reconcile = async (): Promise<number | undefined> => {
    if (pending.size === 0) return undefined
    const pods = listOf(c.store(), 'pods')
    const waiting = pods.filter(p => podNodeName(p) === '')
    const bound = pods.filter(p => podNodeName(p) !== '')
    pending.clear()
    for (const p of waiting) pending.add(objectKey(p))
    if (waiting.length === 0) return undefined
    const now = c.now()
    const result = schedule({ pending: waiting, nodes: listOf(c.store(), 'nodes'), bound, now })
    for (const batch of bindingBatches(bindingCommands(result, now, c.ids))) {
      for (let todo: readonly BindingPlan[] = batch.plans; todo.length > 0;) {
        const r = await c.writeBatch(batchOf(todo))
        todo = splitBatchResult(todo, r).retry
      }
    }
    // A pod changed or gone meanwhile is refused (Conflict, NotFound): its own event brings the next pass.
    await Promise.all(result.unschedulable.flatMap(u => unschedulableCommands(u, now, c.ids)).map(async cmd => await c.write(cmd)))
    return result.unschedulable.length > 0 ? UNSCHEDULABLE_RETRY_MS : undefined
  }

  return storeController(c, {
    name: 'scheduler',
    reconcile,
    keys: () => {
      pending.clear()
      for (const p of listOf(c.store(), 'pods')) if (podNodeName(p) === '') pending.add(objectKey(p))
      return [PASS]
    },
    handlers: {
      pods: (type: WatchEventType, pod: KubeObject) => {
        const key = objectKey(pod)
        if (type !== 'DELETED' && podNodeName(pod) === '') {
          pending.add(key)
          return [PASS]
        }
        pending.delete(key)
        return pending.size > 0 && (type === 'DELETED' || ended(pod)) ? [PASS] : []
      },
      nodes: () => pending.size > 0 ? [PASS] : []
    }
  })
}
