import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { matchesLabels } from '../store/selectors.ts'
import { claimObjects, controllerKeys, controllerOf, isRecord, labelSelectorOf, namespaceOf, statusUpdate } from './common.ts'
import { deploymentSpecOf, isRollingUpdate } from './deployment-util.ts'
import { DeploymentSync } from './deployment-sync.ts'
import { rolloutRolling } from './deployment-rolling.ts'
import { rolloutRecreate } from './deployment-recreate.ts'
import { checkPausedConditions } from './deployment-progress.ts'

export { untilProgressDeadlineMs } from './deployment-progress.ts'

/**
 * The Deployment controller, after Kubernetes' `pkg/controller/deployment`,
 * one sync per Deployment per round. This file holds the entry points and
 * the per-Deployment dispatch (deployment_controller.go's syncDeployment);
 * the rest follows Kubernetes' files: deployment-sync.ts (sync.go),
 * deployment-rolling.ts (rolling.go), deployment-recreate.ts (recreate.go),
 * deployment-progress.ts (progress.go) and deployment-util.ts
 * (util/deployment_util.go).
 *
 * - Its ReplicaSets are those it controls (orphans its selector matches are
 *   adopted, ones it no longer matches released). The new ReplicaSet is the
 *   oldest whose pod template equals the Deployment's but for the
 *   `pod-template-hash` label; the others are old. A missing new ReplicaSet
 *   is created as `NAME-HASH` (hash of the template and `collisionCount`; a
 *   name taken by another template bumps `status.collisionCount`), with the
 *   hash in its labels, selector and template, and the revision (highest old
 *   one + 1). An old ReplicaSet whose template matches again (kubectl's
 *   `rollout undo` patches the template back) becomes the new one with a
 *   bumped revision, its earlier numbers in `revision-history`.
 *   (deployment-sync.ts)
 * - A paused Deployment, or a scaling event (`desired-replicas` of an active
 *   ReplicaSet differs from spec.replicas), is only scaled: all to the one
 *   active ReplicaSet, else proportionally to each ReplicaSet's share
 *   (Kubernetes' `scale`), and no new ReplicaSet is created.
 *   (deployment-sync.ts)
 * - RollingUpdate: scale the new ReplicaSet up while the sum of ReplicaSet
 *   sizes stays within replicas + maxSurge (rounded up); then scale old ones
 *   down, unhealthy ones first, while available pods (ReplicaSet statuses)
 *   stay at least replicas - maxUnavailable (rounded down); both 0 → 1.
 *   (deployment-rolling.ts)
 * - Recreate: scale every old ReplicaSet to 0, wait until none of their
 *   pods is left (but finished ones), then create/scale the new one.
 *   (deployment-recreate.ts)
 * - Once complete, the oldest old ReplicaSets with no pods beyond
 *   `revisionHistoryLimit` are deleted. (deployment-sync.ts)
 * - Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
 *   availableReplicas, unavailableReplicas, collisionCount
 *   (deployment-sync.ts), and the conditions Available
 *   (MinimumReplicasAvailable/Unavailable) and Progressing
 *   (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
 *   NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
 *   DeploymentResumed) with Kubernetes' messages, which is what `kubectl
 *   rollout status` reads (deployment-progress.ts). The Deployment's
 *   revision annotation follows its new ReplicaSet's.
 * - Events ScalingReplicaSet: `Scaled up replica set web-5d9f7c6b8 from 0 to 3`.
 *
 * Not done: the deprecated `spec.rollbackTo`, ReplicaFailure conditions.
 * ReplicaSet writes are merge patches (spec.replicas and the replicas
 * annotations) guarded by uid, so they do not conflict with the ReplicaSet
 * controller's status writes. As for ReplicaSets, the caller runs rounds one
 * after another, each seeing the writes of the one before.
 */

export interface DeploymentControllerInput {
  readonly deployments: readonly KubeObject[]
  /** Every ReplicaSet of the Deployments' namespaces (orphans too, for adoption and name clashes). */
  readonly replicaSets: readonly KubeObject[]
  /** Pods of those namespaces: Recreate waits for the old ones to be gone. */
  readonly pods: readonly KubeObject[]
  /** RFC 3339. */
  readonly now: string
  /** A unique name for an Event about `object`. */
  readonly eventName: (object: string) => string
}

/**
 * The Deployments a change to `rs` concerns (the controller's ReplicaSet
 * handler): its controller, when that is a Deployment; for an orphan, those
 * of its namespace whose selector matches it and would adopt it.
 * `deployments`: those of the ReplicaSet's namespace.
 */
export function deploymentKeysForReplicaSet (rs: KubeObject, deployments: readonly KubeObject[]): string[] {
  return controllerKeys(rs, 'Deployment', deployments)
}

/** The commands for one round over every Deployment. */
export function reconcileDeployments (input: DeploymentControllerInput): ObjectCommand[] {
  const rsByNamespace = groupBy(input.replicaSets, namespaceOf)
  const podsByOwner = groupBy(input.pods, p => controllerOf(p)?.uid ?? '')
  return input.deployments.flatMap(d => syncDeployment(d, rsByNamespace.get(namespaceOf(d)) ?? [], podsByOwner, input))
}

function groupBy<T> (items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const t of items) {
    const k = key(t)
    const list = out.get(k)
    if (list === undefined) out.set(k, [t])
    else list.push(t)
  }
  return out
}

/**
 * syncDeployment: claim the ReplicaSets, then a status-only sync for a
 * Deployment being deleted, a scale for a paused one or a scaling event,
 * else a rollout by its strategy.
 */
function syncDeployment (d: KubeObject, namespaceRSs: readonly KubeObject[], podsByOwner: Map<string, KubeObject[]>, input: DeploymentControllerInput): ObjectCommand[] {
  const s = new DeploymentSync(d, namespaceRSs, podsByOwner, input)
  const spec = deploymentSpecOf(d)
  const selector = labelSelectorOf(d)
  if (selector === undefined || !isRecord(spec.template)) {
    // Kubernetes refuses to select everything: it only records that it saw the spec.
    const generation = d.metadata.generation ?? 0
    if ((s.old.observedGeneration ?? 0) < generation) s.commands.push(statusUpdate('deployments', d, { ...s.old, observedGeneration: generation }, s.now))
    return s.commands
  }
  const claimed = claimObjects(d, 'replicasets', rs => matchesLabels(selector, rs.metadata.labels), namespaceRSs, s.now)
  s.commands.push(...claimed.commands)
  const { newRS, olds } = s.findReplicaSets(claimed.owned)
  if (d.metadata.deletionTimestamp !== undefined) return s.syncStatusOnly(newRS, olds)
  checkPausedConditions(s)
  if (spec.paused === true || s.isScalingEvent(newRS, olds)) return s.sync(newRS, olds)
  return isRollingUpdate(d) ? rolloutRolling(s, newRS, olds) : rolloutRecreate(s, newRS, olds)
}
