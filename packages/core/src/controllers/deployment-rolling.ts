import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { intOf } from './common.ts'
import { byCreation, maxUnavailable, newRSNewReplicas, replicasOf, rsStatusOf, sumSpec, sumStatus } from './deployment-util.ts'
import { deploymentComplete, syncRolloutStatus } from './deployment-progress.ts'
import type { DeploymentSync } from './deployment-sync.ts'

/**
 * The RollingUpdate strategy, after Kubernetes'
 * `pkg/controller/deployment/rolling.go`: scale the new ReplicaSet up while
 * the sum of ReplicaSet sizes stays within replicas + maxSurge; once it has
 * not moved, scale old ones down, unhealthy ones first, while available pods
 * stay at least replicas - maxUnavailable. One step a round: a round that
 * scaled ends there, and the next one sees its result.
 */

/** rolloutRolling: create the new ReplicaSet if missing, scale up, else scale down, else clean up a complete rollout. */
export function rolloutRolling (s: DeploymentSync, found: KubeObject | undefined, foundOlds: KubeObject[]): ObjectCommand[] {
  let olds = foundOlds
  const newRS = found ?? s.createNewRS(olds)
  if (newRS === undefined) return s.syncStatusOnly(undefined, olds)
  const up = reconcileNewReplicaSet(s, [...olds, newRS], newRS)
  if (up.scaled) return syncRolloutStatus(s, [...olds, up.rs], up.rs)
  const down = reconcileOldReplicaSets(s, [...olds, up.rs], olds, up.rs)
  olds = down.olds
  if (down.scaled) return syncRolloutStatus(s, [...olds, up.rs], up.rs)
  if (deploymentComplete(s.d, s.old)) s.cleanup(olds)
  return syncRolloutStatus(s, [...olds, up.rs], up.rs)
}

/** reconcileNewReplicaSet: the new ReplicaSet down to replicas, or up as far as maxSurge allows. */
function reconcileNewReplicaSet (s: DeploymentSync, all: readonly KubeObject[], newRS: KubeObject): { scaled: boolean, rs: KubeObject } {
  if (replicasOf(newRS) === s.replicas) return { scaled: false, rs: newRS }
  if (replicasOf(newRS) > s.replicas) return s.scaleRS(newRS, s.replicas)
  return s.scaleRS(newRS, newRSNewReplicas(s.d, all, newRS))
}

/** reconcileOldReplicaSets: old ReplicaSets down, as far as maxUnavailable allows. */
function reconcileOldReplicaSets (s: DeploymentSync, all: readonly KubeObject[], foundOlds: readonly KubeObject[], newRS: KubeObject): { scaled: boolean, olds: KubeObject[] } {
  let olds = [...foundOlds]
  const oldCount = sumSpec(olds)
  if (oldCount === 0) return { scaled: false, olds }
  const minAvailable = s.replicas - maxUnavailable(s.d)
  const newUnavailable = replicasOf(newRS) - intOf(rsStatusOf(newRS).availableReplicas, 0)
  const maxScaledDown = sumSpec(all) - minAvailable - newUnavailable
  if (maxScaledDown <= 0) return { scaled: false, olds }
  // Unhealthy replicas first: they cost no availability (cleanupUnhealthyReplicas).
  let cleaned = 0
  olds = olds.sort(byCreation).map(rs => {
    if (cleaned >= maxScaledDown || replicasOf(rs) === 0) return rs
    const unavailable = replicasOf(rs) - intOf(rsStatusOf(rs).availableReplicas, 0)
    if (unavailable <= 0) return rs
    const n = Math.min(maxScaledDown - cleaned, unavailable)
    cleaned += n
    return s.scaleRS(rs, replicasOf(rs) - n).rs
  })
  // Then healthy ones, as far as availability allows (scaleDownOldReplicaSetsForRollingUpdate).
  const available = sumStatus([...olds, newRS], 'availableReplicas')
  let scaledDown = 0
  if (available > minAvailable) {
    const total = available - minAvailable
    olds = olds.sort(byCreation).map(rs => {
      if (scaledDown >= total || replicasOf(rs) === 0) return rs
      const n = Math.min(replicasOf(rs), total - scaledDown)
      scaledDown += n
      return s.scaleRS(rs, replicasOf(rs) - n).rs
    })
  }
  return { scaled: cleaned + scaledDown > 0, olds }
}
