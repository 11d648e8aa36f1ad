import type { CreateCommand, KubeObject, LabelSelectorSpec, ObjectCommand, ObjectInput } from '../store/types.ts'
import { labelSelectorFromSpec, matchesLabels } from '../store/selectors.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { claimObjects, controllerOf, controllerRef, eventCommand, intOf, isRecord, namespaceOf, omitZero, podPhase, statusUpdate, timeOf, type Rec } from './common.ts'
import {
  DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION, activeOnly, byCreation, byRevision, bySize, computeHash, deploymentSpecOf,
  desiredReplicasAnnotation, equalIgnoreHash, getCondition, isRollingUpdate, maxReplicasAnnotation, maxSurge, maxUnavailable,
  newCondition, newReplicaSetAnnotations, removeCondition, replicasAnnotations, replicasOf, revisionOf, rsStatusOf, setCondition,
  sumSpec, sumStatus, type DeploymentCondition
} from './deployment-util.ts'

/**
 * The Deployment controller, after Kubernetes' `pkg/controller/deployment`
 * (sync.go, rolling.go, recreate.go, progress.go), one sync per Deployment
 * per round:
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
 * - A paused Deployment, or a scaling event (`desired-replicas` of an active
 *   ReplicaSet differs from spec.replicas), is only scaled: all to the one
 *   active ReplicaSet, else proportionally to each ReplicaSet's share
 *   (Kubernetes' `scale`), and no new ReplicaSet is created.
 * - RollingUpdate: scale the new ReplicaSet up while the sum of ReplicaSet
 *   sizes stays within replicas + maxSurge (rounded up); then scale old ones
 *   down, unhealthy ones first, while available pods (ReplicaSet statuses)
 *   stay at least replicas - maxUnavailable (rounded down); both 0 → 1.
 * - Recreate: scale every old ReplicaSet to 0, wait until none of their
 *   pods is left (but finished ones), then create/scale the new one.
 * - Once complete, the oldest old ReplicaSets with no pods beyond
 *   `revisionHistoryLimit` are deleted.
 * - Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
 *   availableReplicas, unavailableReplicas, collisionCount, and the
 *   conditions Available (MinimumReplicasAvailable/Unavailable) and
 *   Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
 *   ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
 *   DeploymentPaused, DeploymentResumed) with Kubernetes' messages, which is
 *   what `kubectl rollout status` reads. The Deployment's revision
 *   annotation follows its new ReplicaSet's.
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

const COMPONENT = 'deployment-controller'

/** `namespace/name`: a Deployment's key. */
export const deploymentKey = (d: KubeObject): string => `${namespaceOf(d)}/${d.metadata.name}`

/**
 * The Deployments a change to `rs` concerns (the controller's ReplicaSet
 * handler): its controller, when that is a Deployment; for an orphan, those
 * of its namespace whose selector matches it and would adopt it.
 * `deployments`: those of the ReplicaSet's namespace.
 */
export function deploymentKeysForReplicaSet (rs: KubeObject, deployments: readonly KubeObject[]): string[] {
  const ref = controllerOf(rs)
  if (ref !== undefined) return ref.kind === 'Deployment' ? [`${namespaceOf(rs)}/${ref.name}`] : []
  return deployments.filter(d => {
    const sel = deploymentSpecOf(d).selector
    const parsed = isRecord(sel) ? labelSelectorFromSpec(sel as LabelSelectorSpec) : undefined
    return parsed !== undefined && parsed.ok && parsed.value.length > 0 && d.metadata.deletionTimestamp === undefined && matchesLabels(parsed.value, rs.metadata.labels)
  }).map(deploymentKey)
}

/**
 * When the Deployment's Progressing condition times out with no event to
 * say so (Kubernetes' requeueStuckDeployment): the ms until its progress
 * deadline passes, or undefined when it has none running (complete, timed
 * out already, paused, or no deadline).
 */
export function untilProgressDeadlineMs (d: KubeObject, nowMs: number): number | undefined {
  const s = deploymentSpecOf(d).progressDeadlineSeconds
  if (!(s === undefined || (typeof s === 'number' && s < 2147483647))) return undefined
  const status = (isRecord(d.status) ? d.status : {}) as StatusView
  const c = getCondition([...(status.conditions ?? [])], 'Progressing')
  if (c === undefined || c.status !== 'True' || c.reason === 'NewReplicaSetAvailable') return undefined
  const at = timeOf(c.lastUpdateTime) + intOf(s, 600) * 1000
  // Timed out once strictly past the deadline; times are to the second.
  return Number.isFinite(at) ? Math.max(0, at - nowMs) + 1000 : undefined
}

/** The commands for one round over every Deployment. */
export function reconcileDeployments (input: DeploymentControllerInput): ObjectCommand[] {
  const rsByNamespace = groupBy(input.replicaSets, namespaceOf)
  const podsByOwner = groupBy(input.pods, p => controllerOf(p)?.uid ?? '')
  return input.deployments.flatMap(d => new DeploymentSync(d, rsByNamespace.get(namespaceOf(d)) ?? [], podsByOwner, input).run())
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

interface StatusView {
  readonly observedGeneration?: number
  readonly replicas?: number
  readonly updatedReplicas?: number
  readonly readyReplicas?: number
  readonly availableReplicas?: number
  readonly unavailableReplicas?: number
  readonly collisionCount?: number
  readonly conditions?: readonly DeploymentCondition[]
}

/** One Deployment's sync: ReplicaSets as this round leaves them, and the commands that get them there. */
class DeploymentSync {
  readonly d: KubeObject
  readonly input: DeploymentControllerInput
  readonly commands: ObjectCommand[] = []
  readonly old: StatusView
  readonly nowMs: number
  conditions: DeploymentCondition[]
  collisionCount: number | undefined
  revision: string | undefined
  /** Every ReplicaSet of the namespace, for name clashes. */
  readonly namespaceRSs: readonly KubeObject[]
  readonly podsByOwner: Map<string, KubeObject[]>
  /** A ReplicaSet created this round: its create command, changed in place instead of patching it. */
  planned: { create: CreateCommand, index: number } | undefined

  constructor (d: KubeObject, namespaceRSs: readonly KubeObject[], podsByOwner: Map<string, KubeObject[]>, input: DeploymentControllerInput) {
    this.d = d
    this.input = input
    this.namespaceRSs = namespaceRSs
    this.podsByOwner = podsByOwner
    this.old = (isRecord(d.status) ? d.status : {}) as StatusView
    this.conditions = [...(this.old.conditions ?? [])]
    this.collisionCount = this.old.collisionCount
    this.revision = d.metadata.annotations?.[REVISION]
    this.nowMs = timeOf(input.now)
  }

  get now (): string { return this.input.now }
  get replicas (): number { return replicasOf(this.d) }
  get hasProgressDeadline (): boolean {
    const s = deploymentSpecOf(this.d).progressDeadlineSeconds
    return s === undefined || (typeof s === 'number' && s < 2147483647)
  }

  run (): ObjectCommand[] {
    const spec = deploymentSpecOf(this.d)
    const selectorSpec = spec.selector
    const parsed = isRecord(selectorSpec) ? labelSelectorFromSpec(selectorSpec as LabelSelectorSpec) : undefined
    if (parsed === undefined || !parsed.ok || parsed.value.length === 0 || !isRecord(spec.template)) {
      // Kubernetes refuses to select everything: it only records that it saw the spec.
      const generation = this.d.metadata.generation ?? 0
      if ((this.old.observedGeneration ?? 0) < generation) this.commands.push(statusUpdate('deployments', this.d, { ...this.old, observedGeneration: generation }, this.now))
      return this.commands
    }
    const selector = parsed.value
    const claimed = claimObjects(this.d, 'replicasets', rs => matchesLabels(selector, rs.metadata.labels), this.namespaceRSs, this.now)
    this.commands.push(...claimed.commands)
    const found = this.findReplicaSets(claimed.owned)
    let { newRS } = found
    let { olds } = found
    if (this.d.metadata.deletionTimestamp !== undefined) return this.finish(this.calculateStatus([...olds, ...opt(newRS)], newRS))
    this.checkPausedConditions()
    if (spec.paused === true || this.isScalingEvent(newRS, olds)) {
      ({ newRS, olds } = this.scale(newRS, olds))
      if (spec.paused === true) this.cleanup(olds)
      return this.finish(this.calculateStatus([...olds, ...opt(newRS)], newRS))
    }
    return isRollingUpdate(this.d) ? this.rolloutRolling(newRS, olds) : this.rolloutRecreate(newRS, olds)
  }

  // ------------------------------------------------------------ ReplicaSets

  /** The new ReplicaSet (its revision synced) and the old ones (getAllReplicaSetsAndSyncRevision without creating). */
  findReplicaSets (owned: readonly KubeObject[]): { newRS: KubeObject | undefined, olds: KubeObject[] } {
    const template = deploymentSpecOf(this.d).template
    const sorted = [...owned].sort(byCreation)
    let newRS = sorted.find(rs => equalIgnoreHash((rs.spec as Rec | undefined)?.template, template))
    const olds = sorted.filter(rs => rs !== newRS)
    if (newRS === undefined) return { newRS, olds }
    const newRevision = Math.max(0, ...olds.map(revisionOf)) + 1
    const annotations = newReplicaSetAnnotations(this.d, newRS.metadata.annotations ?? {}, newRevision, true)
    const minReady = intOf(deploymentSpecOf(this.d).minReadySeconds, 0)
    const rsMinReady = intOf((newRS.spec as Rec | undefined)?.minReadySeconds, 0)
    if (!isJsonEqual(annotations, newRS.metadata.annotations ?? {}) || minReady !== rsMinReady) {
      newRS = this.patchReplicaSet(newRS, { metadata: { annotations }, spec: { minReadySeconds: minReady > 0 ? minReady : null } })
    }
    this.revision = newRS.metadata.annotations?.[REVISION]
    if (this.hasProgressDeadline && getCondition(this.conditions, 'Progressing') === undefined) {
      this.conditions = setCondition(this.conditions, newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata.name}"`, this.now))
    }
    return { newRS, olds }
  }

  /** Create the new ReplicaSet (getNewReplicaSet with createIfNotExisted); undefined on a name clash. */
  createNewRS (olds: readonly KubeObject[]): KubeObject | undefined {
    const spec = deploymentSpecOf(this.d)
    const template = structuredClone(spec.template ?? {}) as { metadata?: { labels?: Record<string, string> } }
    const hash = computeHash(template, this.collisionCount)
    const name = `${this.d.metadata.name}-${hash}`
    if (this.namespaceRSs.some(rs => rs.metadata.name === name)) {
      // Another template's ReplicaSet holds the name: the next round hashes with a higher collision count.
      this.collisionCount = (this.collisionCount ?? 0) + 1
      return undefined
    }
    const labels = { ...template.metadata?.labels, [POD_TEMPLATE_HASH]: hash }
    const selector = structuredClone(spec.selector ?? {}) as { matchLabels?: Record<string, string> }
    const newRevision = Math.max(0, ...olds.map(revisionOf)) + 1
    const minReady = intOf(spec.minReadySeconds, 0)
    const base: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        ...(this.d.metadata.namespace !== undefined ? { namespace: this.d.metadata.namespace } : {}),
        uid: '',
        resourceVersion: '',
        creationTimestamp: this.now,
        labels,
        ownerReferences: [controllerRef(this.d)]
      },
      spec: {
        replicas: 0,
        ...(minReady > 0 ? { minReadySeconds: minReady } : {}),
        selector: { ...selector, matchLabels: { ...selector.matchLabels, [POD_TEMPLATE_HASH]: hash } },
        template: { ...template, metadata: { ...template.metadata, labels } }
      }
    }
    const replicas = this.newRSNewReplicas([...olds, base], base)
    const annotations = newReplicaSetAnnotations(this.d, {}, newRevision, false)
    const rs: KubeObject = { ...base, metadata: { ...base.metadata, annotations }, spec: { ...(base.spec as Rec), replicas } }
    const { uid: _u, resourceVersion: _rv, creationTimestamp: _c, ...metadata } = rs.metadata
    const create: CreateCommand = { op: 'create', resource: 'replicasets', object: { ...rs, metadata } as ObjectInput, uid: '', now: this.now }
    this.planned = { create, index: this.commands.length }
    this.commands.push(create)
    if (replicas > 0) this.event(`Scaled up replica set ${name} from 0 to ${replicas}`)
    this.revision = String(newRevision)
    if (this.hasProgressDeadline) {
      this.conditions = setCondition(this.conditions, newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`, this.now))
    }
    return rs
  }

  /** A merge patch of a ReplicaSet, or of the create command when it is this round's new one; returns the ReplicaSet as it will be. */
  patchReplicaSet (rs: KubeObject, patch: { metadata?: Rec, spec?: Rec }): KubeObject {
    const annotations = (patch.metadata?.annotations ?? rs.metadata.annotations) as Record<string, string> | undefined
    const specPatch = Object.fromEntries(Object.entries(patch.spec ?? {}).filter(([, v]) => v !== null))
    const dropped = Object.entries(patch.spec ?? {}).filter(([, v]) => v === null).map(([k]) => k)
    const spec = Object.fromEntries(Object.entries({ ...(rs.spec as Rec), ...specPatch }).filter(([k]) => !dropped.includes(k)))
    const next: KubeObject = { ...rs, metadata: { ...rs.metadata, ...(annotations !== undefined ? { annotations } : {}) }, spec }
    if (this.planned !== undefined && rs.metadata.uid === '') {
      const create: CreateCommand = { ...this.planned.create, object: { ...this.planned.create.object, metadata: { ...this.planned.create.object.metadata, annotations }, spec } }
      this.commands[this.planned.index] = create
      this.planned = { create, index: this.planned.index }
      return next
    }
    this.commands.push({ op: 'patch', resource: 'replicasets', namespace: namespaceOf(rs), name: rs.metadata.name, patch, now: this.now, precondition: { uid: rs.metadata.uid } })
    return next
  }

  /** Scale `rs` to `to`, refreshing its replicas annotations (scaleReplicaSetAndRecordEvent); true when its size changed. */
  scaleRS (rs: KubeObject, to: number): { scaled: boolean, rs: KubeObject } {
    const from = replicasOf(rs)
    const annotations = replicasAnnotations(rs.metadata.annotations ?? {}, this.d)
    const annotationsNeedUpdate = annotations[DESIRED_REPLICAS] !== rs.metadata.annotations?.[DESIRED_REPLICAS] || annotations[MAX_REPLICAS] !== rs.metadata.annotations?.[MAX_REPLICAS]
    if (from === to && !annotationsNeedUpdate) return { scaled: false, rs }
    const next = this.patchReplicaSet(rs, { metadata: { annotations }, spec: { replicas: to } })
    if (from !== to) this.event(`Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`)
    return { scaled: from !== to, rs: next }
  }

  event (message: string): void {
    this.commands.push(eventCommand({ name: this.input.eventName(this.d.metadata.name), involved: this.d, reason: 'ScalingReplicaSet', message, type: 'Normal', component: COMPONENT, now: this.now }))
  }

  /** How big the new ReplicaSet may be now (NewRSNewReplicas). */
  newRSNewReplicas (all: readonly KubeObject[], newRS: KubeObject): number {
    if (!isRollingUpdate(this.d)) return this.replicas
    const current = sumSpec(all)
    const maxTotal = this.replicas + maxSurge(this.d)
    if (current >= maxTotal) return replicasOf(newRS)
    const up = Math.min(maxTotal - current, Math.max(0, this.replicas - replicasOf(newRS)))
    return replicasOf(newRS) + up
  }

  // ------------------------------------------------------------ pause and scale

  checkPausedConditions (): void {
    if (!this.hasProgressDeadline) return
    const cond = getCondition(this.conditions, 'Progressing')
    if (cond?.reason === 'ProgressDeadlineExceeded') return
    const paused = deploymentSpecOf(this.d).paused === true
    const pausedCond = cond?.reason === 'DeploymentPaused'
    if (paused && !pausedCond) this.conditions = setCondition(this.conditions, newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', this.now))
    else if (!paused && pausedCond) this.conditions = setCondition(this.conditions, newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', this.now))
  }

  isScalingEvent (newRS: KubeObject | undefined, olds: readonly KubeObject[]): boolean {
    return activeOnly([...olds, ...opt(newRS)]).some(rs => {
      const desired = desiredReplicasAnnotation(rs)
      return desired !== undefined && desired !== this.replicas
    })
  }

  /** Kubernetes' `scale`: the one active ReplicaSet takes everything, a saturated new one ends the old, else proportions. */
  scale (newRS: KubeObject | undefined, olds: KubeObject[]): { newRS: KubeObject | undefined, olds: KubeObject[] } {
    const replace = (rs: KubeObject, next: KubeObject): void => {
      if (rs === newRS) newRS = next
      else olds = olds.map(o => o === rs ? next : o)
    }
    const target = findActiveOrLatest(newRS, olds)
    if (target !== undefined) {
      if (replicasOf(target) !== this.replicas) replace(target, this.scaleRS(target, this.replicas).rs)
      return { newRS, olds }
    }
    if (this.isSaturated(newRS)) {
      for (const rs of activeOnly(olds)) replace(rs, this.scaleRS(rs, 0).rs)
      return { newRS, olds }
    }
    if (!isRollingUpdate(this.d)) return { newRS, olds }
    const all = activeOnly([...olds, ...opt(newRS)])
    const allowed = this.replicas > 0 ? this.replicas + maxSurge(this.d) : 0
    const toAdd = allowed - sumSpec(all)
    if (toAdd > 0) all.sort(bySize(true))
    else if (toAdd < 0) all.sort(bySize(false))
    let added = 0
    const sizes = new Map<KubeObject, number>()
    for (const rs of all) {
      const proportion = toAdd === 0 ? 0 : this.proportion(rs, toAdd, added)
      sizes.set(rs, replicasOf(rs) + proportion)
      added += proportion
    }
    all.forEach((rs, i) => {
      let size = sizes.get(rs) ?? 0
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added)
      replace(rs, this.scaleRS(rs, size).rs)
    })
    return { newRS, olds }
  }

  /** GetProportion: this ReplicaSet's share of `toAdd`, bounded by what is left. */
  proportion (rs: KubeObject, toAdd: number, added: number): number {
    if (replicasOf(rs) === 0 || toAdd === added) return 0
    const allowed = toAdd - added
    const fraction = this.fraction(rs)
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed)
  }

  /** getReplicaSetFraction: its size scaled from the Deployment size it was made for to the current one. */
  fraction (rs: KubeObject): number {
    if (this.replicas === 0) return -replicasOf(rs)
    const deploymentReplicas = this.replicas + maxSurge(this.d)
    const annotated = maxReplicasAnnotation(rs) ?? intOf(this.old.replicas, 0)
    if (annotated === 0) return 0
    const size = replicasOf(rs) * deploymentReplicas / annotated
    return Math.sign(size) * Math.round(Math.abs(size)) - replicasOf(rs)
  }

  isSaturated (rs: KubeObject | undefined): boolean {
    return rs !== undefined && desiredReplicasAnnotation(rs) === this.replicas && replicasOf(rs) === this.replicas &&
      intOf(rsStatusOf(rs).availableReplicas, 0) === this.replicas
  }

  /** cleanupDeployment: delete the oldest old ReplicaSets with no pods beyond revisionHistoryLimit. */
  cleanup (olds: readonly KubeObject[]): void {
    const limit = deploymentSpecOf(this.d).revisionHistoryLimit
    if (typeof limit !== 'number') return
    const alive = olds.filter(rs => rs.metadata.deletionTimestamp === undefined && rs.metadata.uid !== '').sort(byRevision)
    for (const rs of alive.slice(0, Math.max(0, alive.length - limit))) {
      const status = rsStatusOf(rs)
      if (intOf(status.replicas, 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > intOf(status.observedGeneration, 0)) continue
      this.commands.push({ op: 'delete', resource: 'replicasets', namespace: namespaceOf(rs), name: rs.metadata.name, precondition: { uid: rs.metadata.uid } })
    }
  }

  // ------------------------------------------------------------ strategies

  rolloutRolling (found: KubeObject | undefined, foundOlds: KubeObject[]): ObjectCommand[] {
    let olds = foundOlds
    const newRS = found ?? this.createNewRS(olds)
    if (newRS === undefined) return this.finish(this.calculateStatus(olds, undefined))
    const up = this.reconcileNewReplicaSet([...olds, newRS], newRS)
    if (up.scaled) return this.syncRolloutStatus([...olds, up.rs], up.rs)
    const down = this.reconcileOldReplicaSets([...olds, up.rs], olds, up.rs)
    olds = down.olds
    if (down.scaled) return this.syncRolloutStatus([...olds, up.rs], up.rs)
    if (this.complete(this.old)) this.cleanup(olds)
    return this.syncRolloutStatus([...olds, up.rs], up.rs)
  }

  reconcileNewReplicaSet (all: readonly KubeObject[], newRS: KubeObject): { scaled: boolean, rs: KubeObject } {
    if (replicasOf(newRS) === this.replicas) return { scaled: false, rs: newRS }
    if (replicasOf(newRS) > this.replicas) return this.scaleRS(newRS, this.replicas)
    return this.scaleRS(newRS, this.newRSNewReplicas(all, newRS))
  }

  reconcileOldReplicaSets (all: readonly KubeObject[], foundOlds: readonly KubeObject[], newRS: KubeObject): { scaled: boolean, olds: KubeObject[] } {
    let olds = [...foundOlds]
    const oldCount = sumSpec(olds)
    if (oldCount === 0) return { scaled: false, olds }
    const minAvailable = this.replicas - maxUnavailable(this.d)
    const newUnavailable = replicasOf(newRS) - intOf(rsStatusOf(newRS).availableReplicas, 0)
    const maxScaledDown = sumSpec(all) - minAvailable - newUnavailable
    if (maxScaledDown <= 0) return { scaled: false, olds }
    // Unhealthy replicas first: they cost no availability.
    let cleaned = 0
    olds = olds.sort(byCreation).map(rs => {
      if (cleaned >= maxScaledDown || replicasOf(rs) === 0) return rs
      const unavailable = replicasOf(rs) - intOf(rsStatusOf(rs).availableReplicas, 0)
      if (unavailable <= 0) return rs
      const n = Math.min(maxScaledDown - cleaned, unavailable)
      cleaned += n
      return this.scaleRS(rs, replicasOf(rs) - n).rs
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
        return this.scaleRS(rs, replicasOf(rs) - n).rs
      })
    }
    return { scaled: cleaned + scaledDown > 0, olds }
  }

  rolloutRecreate (found: KubeObject | undefined, foundOlds: KubeObject[]): ObjectCommand[] {
    let olds = foundOlds
    let scaled = false
    olds = olds.map(rs => {
      if (replicasOf(rs) === 0) return rs
      const r = this.scaleRS(rs, 0)
      scaled ||= r.scaled
      return r.rs
    })
    if (scaled || this.oldPodsRunning(found, olds)) return this.syncRolloutStatus([...olds, ...opt(found)], found)
    let newRS = found ?? this.createNewRS(olds)
    if (newRS === undefined) return this.finish(this.calculateStatus(olds, undefined))
    newRS = this.scaleRS(newRS, this.replicas).rs
    if (this.complete(this.old)) this.cleanup(olds)
    return this.syncRolloutStatus([...olds, newRS], newRS)
  }

  /** An old ReplicaSet still reports pods, or a pod of one is there and not finished. */
  oldPodsRunning (newRS: KubeObject | undefined, olds: readonly KubeObject[]): boolean {
    if (sumStatus(olds, 'replicas') > 0) return true
    return olds.some(rs => rs !== newRS && (this.podsByOwner.get(rs.metadata.uid) ?? []).some(p => {
      const phase = podPhase(p)
      return phase !== 'Failed' && phase !== 'Succeeded'
    }))
  }

  // ------------------------------------------------------------ status

  calculateStatus (all: readonly KubeObject[], newRS: KubeObject | undefined): StatusView {
    const available = sumStatus(all, 'availableReplicas')
    const status: StatusView = {
      observedGeneration: this.d.metadata.generation,
      replicas: sumStatus(all, 'replicas'),
      updatedReplicas: newRS !== undefined ? sumStatus([newRS], 'replicas') : 0,
      readyReplicas: sumStatus(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sumSpec(all) - available),
      ...(this.collisionCount !== undefined ? { collisionCount: this.collisionCount } : {})
    }
    const minimum = available >= this.replicas - maxUnavailable(this.d)
    const condition = minimum
      ? newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', this.now)
      : newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', this.now)
    this.conditions = setCondition(this.conditions, condition)
    return status
  }

  /** DeploymentComplete: every replica updated and available, and the spec observed. */
  complete (s: StatusView): boolean {
    return (s.updatedReplicas ?? 0) === this.replicas && (s.replicas ?? 0) === this.replicas && (s.availableReplicas ?? 0) === this.replicas &&
      (s.observedGeneration ?? 0) >= (this.d.metadata.generation ?? 0)
  }

  /** DeploymentProgressing: more updated, fewer old, more ready or more available pods than the last status said. */
  progressing (s: StatusView): boolean {
    const o = this.old
    const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0)
    const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0)
    return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
  }

  timedOut (): boolean {
    if (!this.hasProgressDeadline) return false
    const c = getCondition(this.conditions, 'Progressing')
    if (c === undefined || c.reason === 'NewReplicaSetAvailable') return false
    if (c.reason === 'ProgressDeadlineExceeded') return true
    const deadline = intOf(deploymentSpecOf(this.d).progressDeadlineSeconds, 600)
    return timeOf(c.lastUpdateTime) + deadline * 1000 < this.nowMs
  }

  /** syncRolloutStatus: the Progressing condition from how the rollout moved since the last status. */
  syncRolloutStatus (all: readonly KubeObject[], newRS: KubeObject | undefined): ObjectCommand[] {
    const current = getCondition(this.conditions, 'Progressing')
    const status = this.calculateStatus(all, newRS)
    if (!this.hasProgressDeadline) this.conditions = removeCondition(this.conditions, 'Progressing')
    const isComplete = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable'
    const what = newRS !== undefined ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${this.d.metadata.name}"`
    if (this.hasProgressDeadline && !isComplete) {
      if (this.complete(status)) {
        this.conditions = setCondition(this.conditions, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `${what} has successfully progressed.`, this.now))
      } else if (this.progressing(status)) {
        const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `${what} is progressing.`, this.now)
        const kept = current?.status === 'True' ? { ...c, lastTransitionTime: current.lastTransitionTime } : c
        this.conditions = [...removeCondition(this.conditions, 'Progressing'), kept]
      } else if (this.timedOut()) {
        this.conditions = setCondition(this.conditions, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `${what} has timed out progressing.`, this.now))
      }
    }
    return this.finish(status)
  }

  /** Write the status and the Deployment's revision annotation when they changed. */
  finish (status: StatusView): ObjectCommand[] {
    const full = omitZero({ ...status } as Rec, ['collisionCount'])
    if (this.conditions.length > 0) full.conditions = this.conditions
    if (!isJsonEqual(full, this.d.status ?? {})) this.commands.push(statusUpdate('deployments', this.d, full, this.now))
    if (this.revision !== undefined && this.revision !== this.d.metadata.annotations?.[REVISION]) {
      this.commands.push({ op: 'patch', resource: 'deployments', namespace: namespaceOf(this.d), name: this.d.metadata.name, patch: { metadata: { annotations: { [REVISION]: this.revision } } }, now: this.now, precondition: { uid: this.d.metadata.uid } })
    }
    return this.commands
  }
}

const opt = (rs: KubeObject | undefined): KubeObject[] => rs === undefined ? [] : [rs]

/** FindActiveOrLatest: the only ReplicaSet with replicas, or, with none, the new one or the newest old one. */
function findActiveOrLatest (newRS: KubeObject | undefined, olds: readonly KubeObject[]): KubeObject | undefined {
  if (newRS === undefined && olds.length === 0) return undefined
  const newestFirst = [...olds].sort((a, b) => byCreation(b, a))
  const active = activeOnly([...newestFirst, ...opt(newRS)])
  if (active.length === 0) return newRS ?? newestFirst[0]
  return active.length === 1 ? active[0] : undefined
}
