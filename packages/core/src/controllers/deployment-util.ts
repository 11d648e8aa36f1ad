import type { KubeObject } from '../store/types.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { intOf, isRecord, timeOf, type Rec } from './common.ts'

/**
 * The pieces of Kubernetes' `pkg/controller/deployment/util` the deployment
 * controller is built from: the pod-template hash, maxSurge/maxUnavailable
 * fenceposts, revision annotations, ReplicaSet orderings and sizes, and
 * conditions.
 */

export const POD_TEMPLATE_HASH = 'pod-template-hash'
export const REVISION = 'deployment.kubernetes.io/revision'
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history'
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas'
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas'
/** Kubernetes' default `--deployment-controller-...` limit on the revision-history annotation, in characters. */
const REVISION_HISTORY_LIMIT_CHARS = 2000

/** Deployment annotations never copied to its ReplicaSets (skipCopyAnnotation). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
  'deprecated.deployment.rollback.to'
])

export interface DeploymentSpecView {
  readonly replicas?: number
  readonly minReadySeconds?: number
  readonly paused?: boolean
  readonly revisionHistoryLimit?: number
  readonly progressDeadlineSeconds?: number
  readonly selector?: { readonly matchLabels?: Record<string, string>, readonly matchExpressions?: readonly unknown[] }
  readonly strategy?: { readonly type?: string, readonly rollingUpdate?: { readonly maxSurge?: number | string, readonly maxUnavailable?: number | string } }
  readonly template?: Rec
}

export interface DeploymentStatusView {
  readonly observedGeneration?: number
  readonly replicas?: number
  readonly updatedReplicas?: number
  readonly readyReplicas?: number
  readonly availableReplicas?: number
  readonly unavailableReplicas?: number
  readonly collisionCount?: number
  readonly conditions?: readonly DeploymentCondition[]
}

export const deploymentSpecOf = (d: KubeObject): DeploymentSpecView => (isRecord(d.spec) ? d.spec : {}) as DeploymentSpecView
export const deploymentStatusOf = (d: KubeObject): DeploymentStatusView => (isRecord(d.status) ? d.status : {}) as DeploymentStatusView
export const replicasOf = (o: KubeObject): number => intOf((isRecord(o.spec) ? o.spec : {}).replicas, 1)

interface RsStatusView { readonly replicas?: number, readonly readyReplicas?: number, readonly availableReplicas?: number, readonly observedGeneration?: number }
export const rsStatusOf = (rs: KubeObject): RsStatusView => (isRecord(rs.status) ? rs.status : {}) as RsStatusView

// ---------------------------------------------------------------- hash

/** Safe characters for names: no vowels (no words), no 0/1/3 (no look-alikes) (rand.SafeEncodeString). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'

/** JSON with object keys sorted, so equal templates give equal text whatever their key order. */
function canonicalJson (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (isRecord(v)) return `{${Object.keys(v).sort().filter(k => v[k] !== undefined).map(k => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

function fnv1a32 (bytes: Uint8Array, hash = 0x811c9dc5): number {
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0
  return hash >>> 0
}

/**
 * The pod-template hash (controller.ComputeHash): FNV-1a (32 bits) of the
 * template, then of the collision count as four little-endian bytes when
 * there is one, rendered as its decimal digits mapped to safe characters,
 * e.g. `5d9f7c6b8b`. Kubernetes hashes Go's printed form of the struct; we
 * hash canonical JSON, so the values differ from Kubernetes' but are as
 * stable: every replica and every leader computes the same one.
 */
export function computeHash (template: unknown, collisionCount?: number): string {
  let h = fnv1a32(new TextEncoder().encode(canonicalJson(template)))
  if (collisionCount !== undefined) {
    const c = collisionCount >>> 0
    h = fnv1a32(Uint8Array.of(c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff), h)
  }
  return [...String(h)].map(ch => ALPHANUMS[ch.charCodeAt(0) % ALPHANUMS.length]).join('')
}

/** A template without the pod-template-hash label. */
function withoutHash (template: unknown): unknown {
  if (!isRecord(template) || !isRecord(template.metadata) || !isRecord(template.metadata.labels)) return template
  const { [POD_TEMPLATE_HASH]: _hash, ...labels } = template.metadata.labels
  return { ...template, metadata: { ...template.metadata, labels } }
}

/** Templates equal but for the pod-template-hash label (EqualIgnoreHash). */
export function equalIgnoreHash (a: unknown, b: unknown): boolean {
  return isJsonEqual(withoutHash(a), withoutHash(b))
}

// ---------------------------------------------------------------- surge and unavailability

/** An IntOrString of `total`: an integer as is, `N%` scaled and rounded up or down (GetScaledValueFromIntOrPercent). */
export function scaledValue (v: number | string | undefined, total: number, roundUp: boolean, fallback: string): number {
  const value = v ?? fallback
  if (typeof value === 'number') return Math.max(0, Math.trunc(value))
  const m = /^(\d+)%$/.exec(value)
  if (m === null) return /^\d+$/.test(value) ? Number(value) : 0
  const scaled = Number(m[1]) * total / 100
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled)
}

/** maxSurge and maxUnavailable as numbers of pods; both 0 makes unavailability 1 (ResolveFenceposts). */
export function resolveFenceposts (d: KubeObject): { surge: number, unavailable: number } {
  const spec = deploymentSpecOf(d)
  const ru = spec.strategy?.rollingUpdate
  const replicas = replicasOf(d)
  const surge = scaledValue(ru?.maxSurge, replicas, true, '25%')
  const unavailable = scaledValue(ru?.maxUnavailable, replicas, false, '25%')
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable }
}

export const isRollingUpdate = (d: KubeObject): boolean => (deploymentSpecOf(d).strategy?.type ?? 'RollingUpdate') === 'RollingUpdate'

export function maxSurge (d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).surge : 0
}

export function maxUnavailable (d: KubeObject): number {
  const replicas = replicasOf(d)
  if (!isRollingUpdate(d) || replicas === 0) return 0
  return Math.min(resolveFenceposts(d).unavailable, replicas)
}

// ---------------------------------------------------------------- counts and orderings

export const sumSpec = (rss: readonly KubeObject[]): number => rss.reduce((n, rs) => n + replicasOf(rs), 0)
export const sumStatus = (rss: readonly KubeObject[], field: keyof RsStatusView): number => rss.reduce((n, rs) => n + intOf(rsStatusOf(rs)[field], 0), 0)
export const activeOnly = (rss: readonly KubeObject[]): KubeObject[] => rss.filter(rs => replicasOf(rs) > 0)

/** Oldest first, ties by name (ReplicaSetsByCreationTimestamp). */
export function byCreation (a: KubeObject, b: KubeObject): number {
  const t = timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp)
  if (t !== 0 && !Number.isNaN(t)) return t
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0
}

/** Larger first; ties newer first (ReplicaSetsBySizeNewer) or older first (ReplicaSetsBySizeOlder). */
export const bySize = (newerFirst: boolean) => (a: KubeObject, b: KubeObject): number =>
  replicasOf(b) - replicasOf(a) || (newerFirst ? byCreation(b, a) : byCreation(a, b))

export function revisionOf (rs: KubeObject): number {
  const v = Number(rs.metadata.annotations?.[REVISION] ?? '')
  return Number.isSafeInteger(v) && v >= 0 ? v : 0
}

/** Ascending revision, ties by creation (ReplicaSetsByRevision). */
export const byRevision = (a: KubeObject, b: KubeObject): number => revisionOf(a) - revisionOf(b) || byCreation(a, b)

/** The new ReplicaSet, which may not exist yet, as a list of zero or one. */
export const opt = (rs: KubeObject | undefined): KubeObject[] => rs === undefined ? [] : [rs]

/** FindActiveOrLatest: the only ReplicaSet with replicas, or, with none, the new one or the newest old one. */
export function findActiveOrLatest (newRS: KubeObject | undefined, olds: readonly KubeObject[]): KubeObject | undefined {
  if (newRS === undefined && olds.length === 0) return undefined
  const newestFirst = [...olds].sort((a, b) => byCreation(b, a))
  const active = activeOnly([...newestFirst, ...opt(newRS)])
  if (active.length === 0) return newRS ?? newestFirst[0]
  return active.length === 1 ? active[0] : undefined
}

// ---------------------------------------------------------------- annotations

function annotationInt (rs: KubeObject, key: string): number | undefined {
  const raw = rs.metadata.annotations?.[key]
  const v = Number(raw)
  return raw !== undefined && raw !== '' && Number.isSafeInteger(v) ? v : undefined
}

export const desiredReplicasAnnotation = (rs: KubeObject): number | undefined => annotationInt(rs, DESIRED_REPLICAS)
export const maxReplicasAnnotation = (rs: KubeObject): number | undefined => annotationInt(rs, MAX_REPLICAS)

/** The annotations a ReplicaSet should carry after a scale: desired and max replicas of its Deployment. */
export function replicasAnnotations (annotations: Readonly<Record<string, string>>, d: KubeObject): Record<string, string> {
  const desired = replicasOf(d)
  return { ...annotations, [DESIRED_REPLICAS]: String(desired), [MAX_REPLICAS]: String(desired + maxSurge(d)) }
}

/**
 * The new ReplicaSet's annotations (SetNewReplicaSetAnnotations): the
 * Deployment's own (but those it keeps for itself) copied over, and the
 * revision raised to `newRevision` when it is lower; a raised revision that
 * existed before goes into the revision-history list, which is how a
 * rolled-back ReplicaSet remembers its earlier numbers.
 */
export function newReplicaSetAnnotations (d: KubeObject, current: Readonly<Record<string, string>>, newRevision: number, exists: boolean): Record<string, string> {
  const out: Record<string, string> = { ...current }
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v
  const oldRaw = current[REVISION]
  const oldRevision = oldRaw === undefined || oldRaw === '' ? 0 : Number(oldRaw)
  if (!Number.isSafeInteger(oldRevision)) return out
  if (oldRevision < newRevision) {
    out[REVISION] = String(newRevision)
    if (oldRaw !== undefined && oldRaw !== '') {
      const history = current[REVISION_HISTORY] ?? ''
      const list = history === '' ? [] : history.split(',')
      list.push(oldRaw)
      while (list.join(',').length > REVISION_HISTORY_LIMIT_CHARS && list.length > 1) list.shift()
      out[REVISION_HISTORY] = list.join(',')
    }
  }
  return exists ? out : replicasAnnotations(out, d)
}

// ---------------------------------------------------------------- sizes

/** IsSaturated: the new ReplicaSet is made for, sized to and fully available at the Deployment's replicas. */
export function isSaturated (d: KubeObject, rs: KubeObject | undefined): boolean {
  const replicas = replicasOf(d)
  return rs !== undefined && desiredReplicasAnnotation(rs) === replicas && replicasOf(rs) === replicas &&
    intOf(rsStatusOf(rs).availableReplicas, 0) === replicas
}

/** How big the new ReplicaSet may be now (NewRSNewReplicas): Recreate all at once, RollingUpdate within maxSurge. */
export function newRSNewReplicas (d: KubeObject, all: readonly KubeObject[], newRS: KubeObject): number {
  const replicas = replicasOf(d)
  if (!isRollingUpdate(d)) return replicas
  const current = sumSpec(all)
  const maxTotal = replicas + maxSurge(d)
  if (current >= maxTotal) return replicasOf(newRS)
  const up = Math.min(maxTotal - current, Math.max(0, replicas - replicasOf(newRS)))
  return replicasOf(newRS) + up
}

// ---------------------------------------------------------------- conditions

export interface DeploymentCondition {
  readonly type: string
  readonly status: 'True' | 'False' | 'Unknown'
  readonly lastUpdateTime: string
  readonly lastTransitionTime: string
  readonly reason: string
  readonly message: string
}

export function newCondition (type: string, status: DeploymentCondition['status'], reason: string, message: string, now: string): DeploymentCondition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message }
}

export function getCondition (conditions: readonly DeploymentCondition[], type: string): DeploymentCondition | undefined {
  return conditions.find(c => c.type === type)
}

/**
 * SetDeploymentCondition: a condition of the same status and reason is kept
 * as it is; one of the same status keeps its transition time; the changed
 * condition moves to the end of the list, as in Kubernetes.
 */
export function setCondition (conditions: readonly DeploymentCondition[], c: DeploymentCondition): DeploymentCondition[] {
  const current = getCondition(conditions, c.type)
  if (current !== undefined && current.status === c.status && current.reason === c.reason) return [...conditions]
  const next = current !== undefined && current.status === c.status ? { ...c, lastTransitionTime: current.lastTransitionTime } : c
  return [...conditions.filter(x => x.type !== c.type), next]
}

export function removeCondition (conditions: readonly DeploymentCondition[], type: string): DeploymentCondition[] {
  return conditions.filter(c => c.type !== type)
}
