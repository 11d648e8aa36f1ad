import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { podPhase } from './common.ts'
import { opt, replicasOf, sumStatus } from './deployment-util.ts'
import { deploymentComplete, syncRolloutStatus } from './deployment-progress.ts'
import type { DeploymentSync } from './deployment-sync.ts'

/**
 * The Recreate strategy, after Kubernetes'
 * `pkg/controller/deployment/recreate.go`: scale every old ReplicaSet to 0,
 * wait until none of their pods is left (but finished ones), then create
 * the new ReplicaSet or scale it to replicas, so old and new pods never run
 * together.
 */

/** rolloutRecreate: old ReplicaSets down, and once their pods are gone, the new one up. */
export function rolloutRecreate (s: DeploymentSync, found: KubeObject | undefined, foundOlds: KubeObject[]): ObjectCommand[] {
  let olds = foundOlds
  let scaled = false
  olds = olds.map(rs => {
    if (replicasOf(rs) === 0) return rs
    const r = s.scaleRS(rs, 0)
    scaled ||= r.scaled
    return r.rs
  })
  if (scaled || oldPodsRunning(s, found, olds)) return syncRolloutStatus(s, [...olds, ...opt(found)], found)
  let newRS = found ?? s.createNewRS(olds)
  if (newRS === undefined) return s.syncStatusOnly(undefined, olds)
  newRS = s.scaleRS(newRS, s.replicas).rs
  if (deploymentComplete(s.d, s.old)) s.cleanup(olds)
  return syncRolloutStatus(s, [...olds, newRS], newRS)
}

/** An old ReplicaSet still reports pods, or a pod of one is there and not finished. */
function oldPodsRunning (s: DeploymentSync, newRS: KubeObject | undefined, olds: readonly KubeObject[]): boolean {
  if (sumStatus(olds, 'replicas') > 0) return true
  return olds.some(rs => rs !== newRS && (s.podsByOwner.get(rs.metadata.uid) ?? []).some(p => {
    const phase = podPhase(p)
    return phase !== 'Failed' && phase !== 'Succeeded'
  }))
}
