/**
 * The object store's vocabulary. Objects and commands are plain JSON: a command
 * is the data of one Raft entry, so it crosses the network and the disk as it
 * is, and every replica that applies it must end in the same state. That is why
 * a command carries everything that would otherwise differ between replicas
 * (`now`, `uid`), and why the store itself never reads a clock.
 */

export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller?: boolean
  readonly blockOwnerDeletion?: boolean
}

/** Metadata of a stored object. The store owns uid, resourceVersion, generation and creationTimestamp. */
export interface ObjectMeta {
  readonly name: string
  /** Absent for cluster-scoped objects (the store keys them under namespace ''). */
  readonly namespace?: string
  readonly uid: string
  /** The Raft index of the entry that last wrote the object, in decimal. */
  readonly resourceVersion: string
  /** 1 at creation when the object has a spec; +1 on every change of spec. */
  readonly generation?: number
  /** RFC 3339, the `now` of the creating command. */
  readonly creationTimestamp: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly ownerReferences?: readonly OwnerReference[]
  /** Once set (by an update or patch), it can be neither changed nor cleared. */
  readonly deletionTimestamp?: string
  /** finalizers, generateName, ...: kept as given. */
  readonly [field: string]: unknown
}

/**
 * A Kubernetes-shaped object as the store holds it. Objects handed out by the
 * store are deeply frozen: copy (`structuredClone`) before changing one.
 */
export interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: ObjectMeta
  readonly spec?: unknown
  readonly status?: unknown
  /** data, type, rules, ...: kept as given. */
  readonly [field: string]: unknown
}

/** Metadata as a proposer sends it: the store fills in, or keeps, the fields it owns. */
export interface ObjectMetaInput {
  readonly name: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly generation?: number
  readonly creationTimestamp?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly ownerReferences?: readonly OwnerReference[]
  readonly deletionTimestamp?: string
  readonly [field: string]: unknown
}

export interface ObjectInput {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: ObjectMetaInput
  readonly spec?: unknown
  readonly status?: unknown
  readonly [field: string]: unknown
}

/** Conditions a write checks against the stored object before it applies (Kubernetes `Preconditions`). */
export interface Preconditions {
  readonly uid?: string
  readonly resourceVersion?: string
}

/** Creates an object; fails AlreadyExists. `uid` and `now` (RFC 3339) are chosen by the proposer. */
export interface CreateCommand {
  readonly op: 'create'
  readonly resource: string
  readonly object: ObjectInput
  readonly uid: string
  readonly now: string
}

/**
 * Replaces an object, keeping its uid and creationTimestamp. A resourceVersion in
 * `object.metadata` acts as a precondition, as in Kubernetes' optimistic concurrency.
 */
export interface UpdateCommand {
  readonly op: 'update'
  readonly resource: string
  readonly object: ObjectInput
  readonly now: string
  readonly precondition?: Preconditions
  readonly scope?: WriteScope
}

/**
 * Which part of the stored object a write may change, as Kubernetes splits
 * it for kinds with a `status` subresource: `main` keeps the stored status
 * (what users write), `status` changes nothing but the status (what
 * controllers and kubelets report). Undefined: the whole object.
 */
export type WriteScope = 'main' | 'status'

/** An RFC 7386 JSON merge patch, applied to the object as it stands when the entry applies. */
export interface PatchCommand {
  readonly op: 'patch'
  readonly resource: string
  readonly namespace: string
  readonly name: string
  readonly patch: unknown
  readonly now: string
  readonly precondition?: Preconditions
  readonly scope?: WriteScope
}

export interface DeleteCommand {
  readonly op: 'delete'
  readonly resource: string
  readonly namespace: string
  readonly name: string
  readonly precondition?: Preconditions
}

export type ObjectCommand = CreateCommand | UpdateCommand | PatchCommand | DeleteCommand

/** Several commands in one entry, all or nothing (see `ObjectStore.apply`). Batches do not nest. */
export interface BatchCommand {
  readonly op: 'batch'
  readonly commands: readonly ObjectCommand[]
}

export type Command = ObjectCommand | BatchCommand

export type FailureReason = 'AlreadyExists' | 'NotFound' | 'Conflict' | 'Invalid'

/** An expected refusal, shaped for a Kubernetes `Status` (reason, code, message). */
export interface Failure {
  readonly ok: false
  readonly reason: FailureReason
  readonly code: 404 | 409 | 422
  readonly message: string
  /** For Invalid: the offending field, e.g. `metadata.name` (a Status `details.causes[].field`). */
  readonly field?: string
  /** In a failed batch: this command was fine but was not applied because another one failed. */
  readonly aborted?: true
}

export type Result = { readonly ok: true, readonly object: KubeObject } | Failure

/** One result per sub-command, in order; `ok` is true only when every one succeeded (and all were applied). */
export interface BatchResult {
  readonly ok: boolean
  readonly results: readonly Result[]
}

/** A selector or resourceVersion that a read could not use: the api answers 400 or 410. */
export interface ReadFailure {
  readonly ok: false
  readonly reason: 'BadRequest' | 'Gone'
  readonly code: 400 | 410
  readonly message: string
}

export interface ListOptions {
  /** Undefined: every namespace; '' : cluster-scoped objects only. */
  readonly namespace?: string
  /** Kubernetes syntax (`app=web,tier in (fe,be)`) or already parsed. */
  readonly labelSelector?: string | LabelSelector
  /** Kubernetes syntax (`spec.nodeName=n1,metadata.name!=x`) or already parsed. */
  readonly fieldSelector?: string | FieldSelector
}

export type ListResult =
  | { readonly ok: true, readonly items: readonly KubeObject[], readonly resourceVersion: string }
  | ReadFailure

export interface WatchOptions extends ListOptions {
  readonly resource: string
  /** Replay every event after this resourceVersion; 0 or undefined: no replay (the caller lists first). */
  readonly fromResourceVersion?: string | number
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface WatchEvent {
  readonly type: WatchEventType
  readonly object: KubeObject
}

export type WatchListener = (event: WatchEvent) => void

export type WatchResult = { readonly ok: true, readonly stop: () => void } | ReadFailure

export type LabelOperator = 'equals' | 'notEquals' | 'in' | 'notIn' | 'exists' | 'doesNotExist' | 'greaterThan' | 'lessThan'

/** One clause of a label selector; a selector matches when all its clauses do. */
export interface LabelRequirement {
  readonly key: string
  readonly operator: LabelOperator
  /** One value for equals/notEquals/greaterThan/lessThan, one or more for in/notIn, none otherwise. */
  readonly values: readonly string[]
}

/** A parsed label selector: requirements ANDed together; empty matches everything. */
export type LabelSelector = readonly LabelRequirement[]

/** One clause of a field selector: a dotted path into the object compared with a string. */
export interface FieldRequirement {
  readonly path: string
  readonly operator: 'equals' | 'notEquals'
  readonly value: string
}

/** A parsed field selector: requirements ANDed together; empty matches everything. */
export type FieldSelector = readonly FieldRequirement[]

/** The structured selector of a Deployment's or ReplicaSet's `spec.selector` (metav1.LabelSelector). */
export interface LabelSelectorSpec {
  readonly matchLabels?: Readonly<Record<string, string>>
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
    readonly values?: readonly string[]
  }>
}

export interface StoreConfig {
  /** Watch events kept for replay; a watch from before the oldest kept one gets 410 Gone. */
  readonly historyLimit: number
}
