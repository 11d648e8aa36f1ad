import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { intOf, timeOf } from './common.ts'
import {
  deploymentSpecOf, deploymentStatusOf, getCondition, maxUnavailable, newCondition, removeCondition, replicasOf, setCondition,
  type DeploymentCondition, type DeploymentStatusView
} from './deployment-util.ts'
import type { DeploymentSync } from './deployment-sync.ts'

/**
 * A Deployment's conditions and progress deadline, after Kubernetes'
 * `pkg/controller/deployment/progress.go` (syncRolloutStatus,
 * requeueStuckDeployment) with the DeploymentComplete,
 * DeploymentProgressing and DeploymentTimedOut checks of its util and the
 * paused check of sync.go: Progressing says how the rollout moved since the
 * last status, Available whether enough pods are available. Their reasons
 * and messages are Kubernetes', which is what `kubectl rollout status` reads.
 */

/** HasProgressDeadline: progressDeadlineSeconds unset (600 s) or below MaxInt32, which means none. */
export function hasProgressDeadline (d: KubeObject): boolean {
  const s = deploymentSpecOf(d).progressDeadlineSeconds
  return s === undefined || (typeof s === 'number' && s < 2147483647)
}

/**
 * When the Deployment's Progressing condition times out with no event to
 * say so (Kubernetes' requeueStuckDeployment): the ms until its progress
 * deadline passes, or undefined when it has none running (complete, timed
 * out already, paused, or no deadline).
 */
export function untilProgressDeadlineMs (d: KubeObject, nowMs: number): number | undefined {
  if (!hasProgressDeadline(d)) return undefined
  const c = getCondition([...(deploymentStatusOf(d).conditions ?? [])], 'Progressing')
  if (c === undefined || c.status !== 'True' || c.reason === 'NewReplicaSetAvailable') return undefined
  const at = timeOf(c.lastUpdateTime) + intOf(deploymentSpecOf(d).progressDeadlineSeconds, 600) * 1000
  // Timed out once strictly past the deadline; times are to the second.
  return Number.isFinite(at) ? Math.max(0, at - nowMs) + 1000 : undefined
}

/** checkPausedConditions: Progressing Unknown while paused, and once resumed, unless the deadline already passed. */
export function checkPausedConditions (s: DeploymentSync): void {
  if (!hasProgressDeadline(s.d)) return
  const cond = getCondition(s.conditions, 'Progressing')
  if (cond?.reason === 'ProgressDeadlineExceeded') return
  const paused = deploymentSpecOf(s.d).paused === true
  const pausedCond = cond?.reason === 'DeploymentPaused'
  if (paused && !pausedCond) s.conditions = setCondition(s.conditions, newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', s.now))
  else if (!paused && pausedCond) s.conditions = setCondition(s.conditions, newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', s.now))
}

/** The Available condition (calculateStatus): available pods at least replicas - maxUnavailable. */
export function availableCondition (d: KubeObject, available: number, now: string): DeploymentCondition {
  return available >= replicasOf(d) - maxUnavailable(d)
    ? newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now)
    : newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now)
}

/** DeploymentComplete: every replica updated and available, and the spec observed. */
export function deploymentComplete (d: KubeObject, s: DeploymentStatusView): boolean {
  const replicas = replicasOf(d)
  return (s.updatedReplicas ?? 0) === replicas && (s.replicas ?? 0) === replicas && (s.availableReplicas ?? 0) === replicas &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available pods than the last status said. */
export function deploymentProgressing (o: DeploymentStatusView, s: DeploymentStatusView): boolean {
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0)
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0)
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
}

/** DeploymentTimedOut: the Progressing condition was last updated more than progressDeadlineSeconds ago. */
export function deploymentTimedOut (d: KubeObject, conditions: readonly DeploymentCondition[], nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false
  const c = getCondition(conditions, 'Progressing')
  if (c === undefined || c.reason === 'NewReplicaSetAvailable') return false
  if (c.reason === 'ProgressDeadlineExceeded') return true
  const deadline = intOf(deploymentSpecOf(d).progressDeadlineSeconds, 600)
  return timeOf(c.lastUpdateTime) + deadline * 1000 < nowMs
}

/** syncRolloutStatus: the Progressing condition from how the rollout moved since the last status. */
export function syncRolloutStatus (s: DeploymentSync, all: readonly KubeObject[], newRS: KubeObject | undefined): ObjectCommand[] {
  const current = getCondition(s.conditions, 'Progressing')
  const status = s.calculateStatus(all, newRS)
  if (!hasProgressDeadline(s.d)) s.conditions = removeCondition(s.conditions, 'Progressing')
  const isComplete = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable'
  const what = newRS !== undefined ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${s.d.metadata.name}"`
  if (hasProgressDeadline(s.d) && !isComplete) {
    if (deploymentComplete(s.d, status)) {
      s.conditions = setCondition(s.conditions, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `${what} has successfully progressed.`, s.now))
    } else if (deploymentProgressing(s.old, status)) {
      const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `${what} is progressing.`, s.now)
      const kept = current?.status === 'True' ? { ...c, lastTransitionTime: current.lastTransitionTime } : c
      s.conditions = [...removeCondition(s.conditions, 'Progressing'), kept]
    } else if (deploymentTimedOut(s.d, s.conditions, s.nowMs)) {
      s.conditions = setCondition(s.conditions, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `${what} has timed out progressing.`, s.now))
    }
  }
  return s.finish(status)
}
