import type { CreateCommand, KubeObject, ObjectCommand, ObjectInput } from '../store/types.ts'
import { isJsonEqual } from '../store/merge-patch.ts'
import { controllerRef, eventCommand, intOf, namespaceOf, omitZero, statusUpdate, timeOf, type Rec } from './common.ts'
import {
  DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION, activeOnly, byCreation, byRevision, bySize, computeHash, deploymentSpecOf,
  deploymentStatusOf, desiredReplicasAnnotation, equalIgnoreHash, findActiveOrLatest, getCondition, isRollingUpdate, isSaturated,
  maxReplicasAnnotation, maxSurge, newCondition, newRSNewReplicas, newReplicaSetAnnotations, opt, replicasAnnotations, replicasOf,
  revisionOf, rsStatusOf, setCondition, sumSpec, sumStatus, type DeploymentCondition, type DeploymentStatusView
} from './deployment-util.ts'
import { availableCondition, hasProgressDeadline } from './deployment-progress.ts'
import type { DeploymentControllerInput } from './deployment.ts'

/**
 * One Deployment's sync, after Kubernetes'
 * `pkg/controller/deployment/sync.go`: the state of the round (the
 * ReplicaSets as it leaves them, the conditions, the commands that get them
 * there) and what every strategy shares: finding the new and old
 * ReplicaSets, creating the new one, scaling (proportionally on a scaling
 * event or while paused), deleting old ones beyond the revision history,
 * and computing and writing the status. The strategies
 * (deployment-rolling.ts, deployment-recreate.ts) and the Progressing
 * condition (deployment-progress.ts) work on this state.
 */

const COMPONENT = 'deployment-controller'

/** One Deployment's sync: ReplicaSets as this round leaves them, and the commands that get them there. */
export class DeploymentSync {
  readonly d: KubeObject
  readonly input: DeploymentControllerInput
  readonly commands: ObjectCommand[] = []
  readonly old: DeploymentStatusView
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
    this.old = deploymentStatusOf(d)
    this.conditions = [...(this.old.conditions ?? [])]
    this.collisionCount = this.old.collisionCount
    this.revision = d.metadata.annotations?.[REVISION]
    this.nowMs = timeOf(input.now)
  }

  get now (): string { return this.input.now }
  get replicas (): number { return replicasOf(this.d) }

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
    if (hasProgressDeadline(this.d) && getCondition(this.conditions, 'Progressing') === undefined) {
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
    const replicas = newRSNewReplicas(this.d, [...olds, base], base)
    const annotations = newReplicaSetAnnotations(this.d, {}, newRevision, false)
    const rs: KubeObject = { ...base, metadata: { ...base.metadata, annotations }, spec: { ...(base.spec as Rec), replicas } }
    const { uid: _u, resourceVersion: _rv, creationTimestamp: _c, ...metadata } = rs.metadata
    const create: CreateCommand = { op: 'create', resource: 'replicasets', object: { ...rs, metadata } as ObjectInput, uid: '', now: this.now }
    this.planned = { create, index: this.commands.length }
    this.commands.push(create)
    if (replicas > 0) this.event(`Scaled up replica set ${name} from 0 to ${replicas}`)
    this.revision = String(newRevision)
    if (hasProgressDeadline(this.d)) {
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

  // ------------------------------------------------------------ pause and scale

  isScalingEvent (newRS: KubeObject | undefined, olds: readonly KubeObject[]): boolean {
    return activeOnly([...olds, ...opt(newRS)]).some(rs => {
      const desired = desiredReplicasAnnotation(rs)
      return desired !== undefined && desired !== this.replicas
    })
  }

  /** sync: a paused Deployment or a scaling event is only scaled, never rolled out; a paused one's history is cleaned up. */
  sync (found: KubeObject | undefined, foundOlds: KubeObject[]): ObjectCommand[] {
    const { newRS, olds } = this.scale(found, foundOlds)
    if (deploymentSpecOf(this.d).paused === true) this.cleanup(olds)
    return this.syncStatusOnly(newRS, olds)
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
    if (isSaturated(this.d, newRS)) {
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

  // ------------------------------------------------------------ status

  calculateStatus (all: readonly KubeObject[], newRS: KubeObject | undefined): DeploymentStatusView {
    const available = sumStatus(all, 'availableReplicas')
    const status: DeploymentStatusView = {
      observedGeneration: this.d.metadata.generation,
      replicas: sumStatus(all, 'replicas'),
      updatedReplicas: newRS !== undefined ? sumStatus([newRS], 'replicas') : 0,
      readyReplicas: sumStatus(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sumSpec(all) - available),
      ...(this.collisionCount !== undefined ? { collisionCount: this.collisionCount } : {})
    }
    this.conditions = setCondition(this.conditions, availableCondition(this.d, available, this.now))
    return status
  }

  /** syncStatusOnly (and syncDeploymentStatus): the status from the ReplicaSets as they are, written when it changed. */
  syncStatusOnly (newRS: KubeObject | undefined, olds: readonly KubeObject[]): ObjectCommand[] {
    return this.finish(this.calculateStatus([...olds, ...opt(newRS)], newRS))
  }

  /** Write the status and the Deployment's revision annotation when they changed. */
  finish (status: DeploymentStatusView): ObjectCommand[] {
    const full = omitZero({ ...status } as Rec, ['collisionCount'])
    if (this.conditions.length > 0) full.conditions = this.conditions
    if (!isJsonEqual(full, this.d.status ?? {})) this.commands.push(statusUpdate('deployments', this.d, full, this.now))
    if (this.revision !== undefined && this.revision !== this.d.metadata.annotations?.[REVISION]) {
      this.commands.push({ op: 'patch', resource: 'deployments', namespace: namespaceOf(this.d), name: this.d.metadata.name, patch: { metadata: { annotations: { [REVISION]: this.revision } } }, now: this.now, precondition: { uid: this.d.metadata.uid } })
    }
    return this.commands
  }
}
