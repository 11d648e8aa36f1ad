import type { Resources } from './types.ts'

/**
 * The scorers, as pure integer math on 0..100 (Kubernetes' MinNodeScore ..
 * MaxNodeScore), each a free function table-tested in score.test.ts.
 */

export const MAX_SCORE = 100

/** Weights of the scores in a node's total: resources 1 (NodeResourcesFit), spreading 2 (PodTopologySpread's default weight). */
export const LEAST_ALLOCATED_WEIGHT = 1
export const SPREAD_WEIGHT = 2

/** One resource: the share left free after the pod, ×100, rounded down; 0 when nothing is allocatable or it is over-committed. */
export function leastRequestedScore (requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0
  return Math.floor((allocatable - requested) * MAX_SCORE / allocatable)
}

/**
 * Kubernetes' LeastAllocated: the mean over cpu and memory of
 * (allocatable − requested) / allocatable × 100, where requested is what the
 * node's pods and this pod ask for (with the 100m / 200Mi scoring defaults).
 */
export function leastAllocatedScore (requested: Resources, allocatable: Resources): number {
  const cpu = leastRequestedScore(requested.cpuMilli, allocatable.cpuMilli)
  const memory = leastRequestedScore(requested.memoryBytes, allocatable.memoryBytes)
  return Math.floor((cpu + memory) / 2)
}

/**
 * Spreading (Kubernetes' SelectorSpread normalisation): a node with fewer
 * pods of the same owner scores higher; the most crowded scores 0, and when
 * no node has any, all score 100.
 */
export function spreadScore (count: number, maxCount: number): number {
  if (maxCount <= 0) return MAX_SCORE
  return Math.floor(MAX_SCORE * (maxCount - count) / maxCount)
}

/** The weighted total the scheduler ranks feasible nodes by. */
export function totalScore (leastAllocated: number, spread: number): number {
  return leastAllocated * LEAST_ALLOCATED_WEIGHT + spread * SPREAD_WEIGHT
}
