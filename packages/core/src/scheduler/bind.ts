import type { BatchCommand, BatchResult, CreateCommand, Failure, KubeObject, ObjectCommand, PatchCommand } from '../store/types.ts'
import { SCHEDULER_NAME } from './schedule.ts'
import { eventCommand, namespaceOf } from '../controllers/common.ts'
import type { SchedulerResult, Unschedulable } from './types.ts'

/**
 * From decisions to store commands. A binding is a merge patch of
 * `spec.nodeName` (and the PodScheduled condition Kubernetes' binding
 * subresource sets), guarded by the uid and resourceVersion the scheduler
 * read: a pod deleted, replaced or changed since is not bound, and the next
 * round looks again. Each binding travels with its `Scheduled` Event.
 *
 * Sending: a batch is all or nothing, so one vanished pod would sink every
 * binding in it. The leader sends `bindingBatches(plans)`; when a batch
 * fails, `splitBatchResult` says which plans failed for a reason of their
 * own (dropped: the next round decides again) and which were only aborted
 * (sent again as a new batch, which cannot fail for the dropped ones):
 *
 *   for (let todo = batch.plans; todo.length > 0;) {
 *     const r = await store.write(batchOf(todo))
 *     todo = splitBatchResult(todo, r).retry        // shrinks by ≥ 1 each time it fails
 *   }
 */

/** Where a created Event's identity comes from: the proposer picks names and uids (core has no randomness). */
export interface EventIds {
  /** A unique name for an Event about the pod (Kubernetes uses `POD.HEX`). */
  readonly eventName: (pod: KubeObject) => string
  /** A fresh uid for the Event. */
  readonly uid: () => string
}

export interface BindingPlan {
  readonly pod: KubeObject
  readonly nodeName: string
  /** The binding patch, then its Scheduled Event. */
  readonly commands: readonly [PatchCommand, CreateCommand]
}

/** The pod's PodScheduled condition, if it has one. */
function scheduledCondition (pod: KubeObject): { status?: string, reason?: string, message?: string } | undefined {
  const conditions = (pod.status as { conditions?: unknown } | undefined)?.conditions
  if (!Array.isArray(conditions)) return undefined
  return (conditions as Array<{ type?: string, status?: string, reason?: string, message?: string }>).find(c => c?.type === 'PodScheduled')
}

/** The patch that binds `pod` to `nodeName`, only if the pod is still the one (uid) and as read (resourceVersion). */
export function bindCommand (pod: KubeObject, nodeName: string, now: string): PatchCommand {
  return {
    op: 'patch',
    resource: 'pods',
    namespace: namespaceOf(pod),
    name: pod.metadata.name,
    patch: { spec: { nodeName }, status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }] } },
    now,
    precondition: { uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion }
  }
}

function podEvent (pod: KubeObject, type: 'Normal' | 'Warning', reason: string, action: string, message: string, now: string, ids: EventIds): CreateCommand {
  const involved = { ...pod, apiVersion: 'v1', kind: 'Pod', metadata: { ...pod.metadata, namespace: namespaceOf(pod) } }
  return eventCommand({ name: ids.eventName(pod), involved, reason, message, type, action, component: SCHEDULER_NAME, now, uid: ids.uid() })
}

/** `Successfully assigned default/web-1 to node-2`, as Kubernetes' scheduler records it. */
export function scheduledEvent (pod: KubeObject, nodeName: string, now: string, ids: EventIds): CreateCommand {
  return podEvent(pod, 'Normal', 'Scheduled', 'Binding', `Successfully assigned ${namespaceOf(pod)}/${pod.metadata.name} to ${nodeName}`, now, ids)
}

/** A Warning `FailedScheduling` with the FitError text. How often to record one is the caller's choice (see unschedulableCommands). */
export function failedSchedulingEvent (pod: KubeObject, message: string, now: string, ids: EventIds): CreateCommand {
  return podEvent(pod, 'Warning', 'FailedScheduling', 'Scheduling', message, now, ids)
}

/** One plan per binding: its patch and its Scheduled Event. */
export function bindingCommands (result: SchedulerResult, now: string, ids: EventIds): BindingPlan[] {
  return result.bindings.map(b => ({ pod: b.pod, nodeName: b.nodeName, commands: [bindCommand(b.pod, b.nodeName, now), scheduledEvent(b.pod, b.nodeName, now, ids)] }))
}

/**
 * What Kubernetes records for a pod it could not place: the PodScheduled
 * condition False/Unschedulable with the message (a status patch; `kubectl
 * describe` and `get pods` read it) and a FailedScheduling Event. Nothing
 * when the pod's condition already carries this very message, so calling it
 * every round records each distinct reason once.
 */
export function unschedulableCommands (u: Unschedulable, now: string, ids: EventIds): ObjectCommand[] {
  const current = scheduledCondition(u.pod)
  if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === u.message) return []
  const patch: PatchCommand = {
    op: 'patch',
    resource: 'pods',
    namespace: namespaceOf(u.pod),
    name: u.pod.metadata.name,
    patch: { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: u.message, lastTransitionTime: now }] } },
    now,
    precondition: { uid: u.pod.metadata.uid, resourceVersion: u.pod.metadata.resourceVersion },
    scope: 'status'
  }
  return [patch, failedSchedulingEvent(u.pod, u.message, now, ids)]
}

/** The plans' commands as one batch (bindings with their events). */
export function batchOf (plans: readonly BindingPlan[]): BatchCommand {
  return { op: 'batch', commands: plans.flatMap(p => p.commands) }
}

/** Default bindings per batch: a Raft entry stays well under a megabyte (a binding and its event are ~1 KB). */
export const MAX_BINDINGS_PER_BATCH = 256

/** The plans in batches of at most `size` bindings, in order. */
export function bindingBatches (plans: readonly BindingPlan[], size = MAX_BINDINGS_PER_BATCH): Array<{ plans: BindingPlan[], command: BatchCommand }> {
  const out: Array<{ plans: BindingPlan[], command: BatchCommand }> = []
  for (let i = 0; i < plans.length; i += size) {
    const chunk = plans.slice(i, i + size)
    out.push({ plans: chunk, command: batchOf(chunk) })
  }
  return out
}

export interface BatchOutcome {
  /** Applied. */
  readonly bound: readonly BindingPlan[]
  /** Not applied only because another command of the batch failed: send these again. */
  readonly retry: readonly BindingPlan[]
  /** Refused for themselves (the pod is gone, or changed: Conflict/NotFound); the next round decides again. */
  readonly failed: ReadonlyArray<{ readonly plan: BindingPlan, readonly failure: Failure }>
}

/** Sort the plans of a batch (`batchOf(plans)`) by what its result says happened to each. */
export function splitBatchResult (plans: readonly BindingPlan[], result: BatchResult): BatchOutcome {
  if (result.ok) return { bound: plans, retry: [], failed: [] }
  const expected = plans.reduce((n, p) => n + p.commands.length, 0)
  if (result.results.length !== expected) {
    // Refused as a whole (not a batch of these plans): nothing to retry.
    const failure = result.results.find((r): r is Failure => !r.ok) ?? { ok: false, reason: 'Invalid', code: 422, message: 'the batch was refused' }
    return { bound: [], retry: [], failed: plans.map(plan => ({ plan, failure })) }
  }
  const retry: BindingPlan[] = []
  const failed: Array<{ plan: BindingPlan, failure: Failure }> = []
  let i = 0
  for (const plan of plans) {
    const own = result.results.slice(i, i + plan.commands.length)
    i += plan.commands.length
    const failure = own.find((r): r is Failure => !r.ok && r.aborted !== true)
    if (failure !== undefined) failed.push({ plan, failure })
    else retry.push(plan)
  }
  return { bound: [], retry, failed }
}
