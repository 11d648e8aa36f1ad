import { InvalidConfigError, assertNever } from '../errors.ts'
import type {
  BatchCommand, BatchResult, Command, Failure, FieldSelector, KubeObject, LabelSelector, ListOptions, ListResult,
  ObjectCommand, ObjectInput, Preconditions, ReadFailure, Result, StoreConfig, WatchEvent, WatchEventType,
  WatchListener, WatchOptions, WatchResult, WriteScope
} from './types.ts'
import { applyMergePatch, cloneJson, deepFreeze, getOwn, isJsonEqual, isRecord } from './merge-patch.ts'
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts'
import { allocateServiceAddresses } from './service-addresses.ts'
import { CLUSTER_CONFIG, allocatePodCIDR } from './pod-cidrs.ts'

export const STORE_DEFAULTS: StoreConfig = Object.freeze({
  /** ≈ a few minutes of a busy cluster's changes; a watcher that falls further behind relists. */
  historyLimit: 10_000
})

export function resolveStoreConfig (init: Partial<StoreConfig> = {}): StoreConfig {
  const cfg = { ...STORE_DEFAULTS, ...init }
  if (!Number.isSafeInteger(cfg.historyLimit) || cfg.historyLimit < 0) {
    throw new InvalidConfigError([`historyLimit must be a non-negative integer, got ${String(cfg.historyLimit)}`])
  }
  return Object.freeze(cfg)
}

/** One write as watchers see it; `previous` (MODIFIED) lets a selector see an object enter or leave it. */
interface Change {
  readonly type: WatchEventType
  readonly resource: string
  readonly rv: number
  readonly object: KubeObject
  readonly previous?: KubeObject
}

interface Watcher {
  readonly resource: string
  readonly namespace: string | undefined
  readonly labels: LabelSelector
  readonly fields: FieldSelector
  readonly from: number
  readonly listener: WatchListener
}

type Objects = Map<string, Map<string, KubeObject>>

/** Objects sort by namespace, then name: NUL sorts before any character a name may hold. */
const keyOf = (namespace: string, name: string): string => `${namespace}\u0000${name}`
const namespaceOf = (o: { metadata: { namespace?: unknown } }): string => typeof o.metadata.namespace === 'string' ? o.metadata.namespace : ''
/** Fields only the store writes; whatever a command says about them is replaced. */
const OWNED = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'deletionTimestamp'] as const
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/**
 * The writes of one entry, held aside until every command of it has succeeded:
 * this is what makes a batch all or nothing, and a failed command leave no trace.
 */
class Stage {
  readonly writes = new Map<string, Map<string, KubeObject | undefined>>()
  readonly changes: Change[] = []
  readonly #base: Objects
  readonly rv: number

  constructor (base: Objects, rv: number) {
    this.#base = base
    this.rv = rv
  }

  read (resource: string, namespace: string, name: string): KubeObject | undefined {
    const key = keyOf(namespace, name)
    const staged = this.writes.get(resource)
    return staged?.has(key) === true ? staged.get(key) : this.#base.get(resource)?.get(key)
  }

  /** Every object of `resource` as this entry's writes so far leave it. */
  * all (resource: string): Iterable<KubeObject> {
    const staged = this.writes.get(resource)
    for (const [key, o] of this.#base.get(resource) ?? []) if (staged?.has(key) !== true) yield o
    for (const o of staged?.values() ?? []) if (o !== undefined) yield o
  }

  write (change: Change, object: KubeObject | undefined): void {
    let staged = this.writes.get(change.resource)
    if (staged === undefined) this.writes.set(change.resource, staged = new Map())
    staged.set(keyOf(namespaceOf(change.object), change.object.metadata.name), object)
    this.changes.push(change)
  }
}

/**
 * One agent's replica of the cluster's desired state: the state machine that
 * committed Raft entries are applied to, in log order, on every agent.
 *
 * Deterministic by construction: a command carries its own `now` and `uid`, the
 * store never reads a clock, iterates in sorted order, and an object's
 * resourceVersion is the index of the entry that last wrote it. Same entries in,
 * same snapshot out, on every replica.
 *
 * Objects handed out are deeply frozen and shared with the store; copy before
 * changing one. Watch listeners run synchronously, after an entry's writes are
 * all in place, and must not apply entries themselves.
 */
export class ObjectStore {
  readonly #config: StoreConfig
  readonly #objects: Objects = new Map()
  #index = 0
  #history: Change[] = []
  #historyHead = 0
  /** Watches from before this resourceVersion get Gone: some of their events were dropped. */
  #compactedThrough = 0
  readonly #watchers = new Set<Watcher>()
  #dispatching = false

  constructor (init: Partial<StoreConfig> = {}) {
    this.#config = resolveStoreConfig(init)
  }

  /** Rebuild a store from `snapshot()`. The watch history starts empty: older watches get Gone. */
  static restore (data: string, init: Partial<StoreConfig> = {}): ObjectStore {
    const fail = (why: string): never => { throw new Error(`invalid store snapshot: ${why}`) }
    let parsed: unknown
    try { parsed = JSON.parse(data) } catch { fail('not JSON') }
    if (!isRecord(parsed) || parsed.format !== 1) return fail('unknown format')
    const rv = parsed.resourceVersion
    if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv < 0) return fail('resourceVersion must be an index')
    if (!Array.isArray(parsed.resources)) return fail('resources must be a list')
    const store = new ObjectStore(init)
    for (const entry of parsed.resources as unknown[]) {
      if (!isRecord(entry) || typeof entry.resource !== 'string' || !Array.isArray(entry.items)) return fail('bad resource entry')
      const objects = new Map<string, KubeObject>()
      for (const item of entry.items as unknown[]) {
        if (!isRecord(item) || !isRecord(item.metadata) || typeof item.metadata.name !== 'string') return fail(`bad object in ${entry.resource}`)
        if (!(Number(item.metadata.resourceVersion) <= rv)) return fail(`${entry.resource} "${item.metadata.name}" is newer than the snapshot`)
        const object = deepFreeze(item) as KubeObject
        objects.set(keyOf(namespaceOf(object), object.metadata.name), object)
      }
      if (objects.size > 0) store.#objects.set(entry.resource, objects)
    }
    store.#index = rv
    store.#compactedThrough = rv
    return store
  }

  /** The index of the last entry applied or skipped. */
  get appliedIndex (): number { return this.#index }
  /** The store's resourceVersion, as lists report it and watches start from. */
  get resourceVersion (): string { return String(this.#index) }

  /**
   * Apply the committed entry at `index`. Expected refusals (NotFound, Conflict,
   * ...) are results; the entry still advances the store's resourceVersion. A
   * batch is all or nothing: every command is tried in order against the
   * effects of those before it, and only if all succeed are any applied; then
   * each command that would have succeeded reports `aborted` (Conflict, 409).
   */
  apply (index: number, command: BatchCommand): BatchResult
  apply (index: number, command: ObjectCommand): Result
  apply (index: number, command: Command): Result | BatchResult
  apply (index: number, command: Command): Result | BatchResult {
    this.#advance(index)
    const stage = new Stage(this.#objects, index)
    if (!isRecord(command) || command.op !== 'batch') {
      const result = runCommand(stage, command as ObjectCommand)
      if (result.ok) this.#commit(stage)
      return result
    }
    if (!Array.isArray(command.commands)) return { ok: false, results: [invalid('commands: must be a list of commands', 'commands')] }
    const results = command.commands.map((c: ObjectCommand) => runCommand(stage, c))
    const failed = results.findIndex(r => !r.ok)
    if (failed < 0) {
      this.#commit(stage)
      return { ok: true, results }
    }
    const cause = `command ${failed + 1} of ${results.length} failed: ${(results[failed] as Failure).message}`
    return {
      ok: false,
      results: results.map(r => r.ok ? { ok: false, reason: 'Conflict', code: 409, message: `not applied: ${cause}`, aborted: true } : r)
    }
  }

  /** An entry that is not a store command (a Raft no-op, a membership change) still moves the resourceVersion. */
  skip (index: number): void {
    this.#advance(index)
  }

  get (resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(keyOf(namespace, name))
  }

  /** Objects of `resource` sorted by namespace and name, with the resourceVersion to watch from. */
  list (resource: string, options: ListOptions = {}): ListResult {
    const selectors = parseSelectors(options)
    if (!selectors.ok) return selectors
    const objects = this.#objects.get(resource) ?? new Map<string, KubeObject>()
    const items = [...objects.keys()].sort().map(k => objects.get(k) as KubeObject)
      .filter(o => matchesWatcher({ ...selectors, namespace: options.namespace }, o))
    return { ok: true, items, resourceVersion: this.resourceVersion }
  }

  /**
   * Call `listener` for every change to matching objects after
   * `fromResourceVersion`: first, synchronously, those still in the history,
   * then each new one as it is applied. With selectors, an object that starts
   * matching arrives as ADDED and one that stops matching as DELETED. A
   * resourceVersion beyond this replica's own is fine: its events come once
   * the replica catches up.
   */
  watch (options: WatchOptions, listener: WatchListener): WatchResult {
    const selectors = parseSelectors(options)
    if (!selectors.ok) return selectors
    const raw = options.fromResourceVersion ?? 0
    const from = typeof raw === 'number' ? raw : /^\d{1,15}$/.test(raw) ? Number(raw) : raw === '' ? 0 : NaN
    if (!Number.isSafeInteger(from) || from < 0) return { ok: false, reason: 'BadRequest', code: 400, message: `invalid resource version ${JSON.stringify(raw)}` }
    if (from > 0 && from < this.#compactedThrough) {
      return { ok: false, reason: 'Gone', code: 410, message: `too old resource version: ${from} (${this.#compactedThrough})` }
    }
    const watcher: Watcher = { resource: options.resource, namespace: options.namespace, ...selectors, from: from === 0 ? this.#index : from, listener }
    if (from > 0) {
      for (let i = this.#historyHead; i < this.#history.length; i++) {
        const event = eventFor(watcher, this.#history[i] as Change)
        if (event !== undefined) listener(event)
      }
    }
    this.#watchers.add(watcher)
    return { ok: true, stop: () => { this.#watchers.delete(watcher) } }
  }

  /** Every object and the resourceVersion, as JSON in a canonical order: equal stores give equal strings. */
  snapshot (): string {
    const resources = [...this.#objects.keys()].sort().flatMap(resource => {
      const objects = this.#objects.get(resource) as Map<string, KubeObject>
      return objects.size === 0 ? [] : [{ resource, items: [...objects.keys()].sort().map(k => objects.get(k)) }]
    })
    return JSON.stringify({ format: 1, resourceVersion: this.#index, resources })
  }

  #advance (index: number): void {
    if (this.#dispatching) throw new Error('a watch listener tried to apply an entry; entries come only from the Raft log')
    if (!Number.isSafeInteger(index) || index <= this.#index) {
      throw new Error(`entries must be applied in increasing index order: got ${index} after ${this.#index}`)
    }
    this.#index = index
  }

  #commit (stage: Stage): void {
    for (const [resource, writes] of stage.writes) {
      let objects = this.#objects.get(resource)
      if (objects === undefined) this.#objects.set(resource, objects = new Map())
      for (const [key, object] of writes) {
        if (object === undefined) objects.delete(key)
        else objects.set(key, object)
      }
      if (objects.size === 0) this.#objects.delete(resource)
    }
    this.#record(stage.changes)
    this.#dispatch(stage.changes)
  }

  #record (changes: readonly Change[]): void {
    this.#history.push(...changes)
    while (this.#history.length - this.#historyHead > this.#config.historyLimit) {
      this.#compactedThrough = (this.#history[this.#historyHead++] as Change).rv
    }
    if (this.#historyHead > 1024 && this.#historyHead * 2 > this.#history.length) {
      this.#history = this.#history.slice(this.#historyHead)
      this.#historyHead = 0
    }
  }

  /** Tell every watcher about the entry; a throwing listener does not stop the others hearing of it. */
  #dispatch (changes: readonly Change[]): void {
    const watchers = [...this.#watchers]
    const errors: unknown[] = []
    this.#dispatching = true
    try {
      for (const change of changes) {
        for (const w of watchers) {
          const event = this.#watchers.has(w) ? eventFor(w, change) : undefined
          if (event === undefined) continue
          try { w.listener(event) } catch (err) { errors.push(err) }
        }
      }
    } finally {
      this.#dispatching = false
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, 'watch listeners threw')
  }
}

// ---------------------------------------------------------------- reads

function parseSelectors (options: ListOptions): { ok: true, labels: LabelSelector, fields: FieldSelector } | ReadFailure {
  const labels = typeof options.labelSelector === 'string' ? parseLabelSelector(options.labelSelector) : { ok: true as const, value: options.labelSelector ?? [] }
  if (!labels.ok) return { ok: false, reason: 'BadRequest', code: 400, message: labels.error }
  const fields = typeof options.fieldSelector === 'string' ? parseFieldSelector(options.fieldSelector) : { ok: true as const, value: options.fieldSelector ?? [] }
  if (!fields.ok) return { ok: false, reason: 'BadRequest', code: 400, message: fields.error }
  return { ok: true, labels: labels.value, fields: fields.value }
}

function matchesWatcher (w: Pick<Watcher, 'namespace' | 'labels' | 'fields'>, o: KubeObject): boolean {
  return (w.namespace === undefined || namespaceOf(o) === w.namespace) && matchesLabels(w.labels, o.metadata.labels) && matchesFields(w.fields, o)
}

/** What `change` looks like to `w`, if anything (Kubernetes' cacheWatcher rules). */
function eventFor (w: Watcher, change: Change): WatchEvent | undefined {
  if (change.resource !== w.resource || change.rv <= w.from) return undefined
  const now = matchesWatcher(w, change.object)
  if (change.type !== 'MODIFIED' || change.previous === undefined) return now ? { type: change.type, object: change.object } : undefined
  const was = matchesWatcher(w, change.previous)
  if (now) return { type: was ? 'MODIFIED' : 'ADDED', object: change.object }
  // It left the selection: DELETED, with its last matching state at this resourceVersion.
  return was ? { type: 'DELETED', object: withResourceVersion(change.previous, change.rv) } : undefined
}

function withResourceVersion (o: KubeObject, rv: number): KubeObject {
  return Object.freeze({ ...o, metadata: Object.freeze({ ...o.metadata, resourceVersion: String(rv) }) })
}

// ---------------------------------------------------------------- commands

function invalid (message: string, field?: string): Failure {
  return { ok: false, reason: 'Invalid', code: 422, message, ...(field !== undefined ? { field } : {}) }
}

const named = (resource: string, name: string): string => `${resource} ${JSON.stringify(name)}`

/** What the store needs of a command's shape to apply it; the api validates the objects themselves. */
function checkCommand (c: ObjectCommand): Failure | undefined {
  const bad = (field: string, what: string): Failure => invalid(`invalid ${String(c.op)} command: ${field}: ${what}`, field)
  if (!isRecord(c)) return invalid('invalid command: must be an object')
  if (typeof c.resource !== 'string' || c.resource === '') return bad('resource', 'must be a non-empty string')
  if (c.op === 'create' || c.op === 'update') {
    const o: unknown = c.object
    if (!isRecord(o) || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return bad('object', 'must be an object with apiVersion and kind')
    if (!isRecord(o.metadata) || typeof o.metadata.name !== 'string' || o.metadata.name === '') return bad('object.metadata.name', 'must be a non-empty string')
    if (o.metadata.namespace !== undefined && typeof o.metadata.namespace !== 'string') return bad('object.metadata.namespace', 'must be a string')
    if (o.metadata.deletionTimestamp !== undefined && typeof o.metadata.deletionTimestamp !== 'string') return bad('object.metadata.deletionTimestamp', 'must be a string')
  } else if (c.op === 'patch' || c.op === 'delete') {
    if (typeof c.namespace !== 'string') return bad('namespace', 'must be a string')
    if (typeof c.name !== 'string' || c.name === '') return bad('name', 'must be a non-empty string')
  } else if (c.op === 'batch') {
    return invalid('invalid command: a batch cannot hold another batch', 'op')
  } else {
    return invalid(`invalid command: unknown op ${JSON.stringify((c as { op: unknown }).op)}`, 'op')
  }
  if (c.op === 'create' && (typeof c.uid !== 'string' || c.uid === '')) return bad('uid', 'must be a non-empty string')
  if (c.op !== 'delete' && (typeof c.now !== 'string' || !RFC3339_RE.test(c.now))) return bad('now', 'must be an RFC 3339 time')
  if ((c.op === 'update' || c.op === 'patch') && c.scope !== undefined && c.scope !== 'main' && c.scope !== 'status') return bad('scope', 'must be main or status')
  const p: unknown = c.op === 'create' ? undefined : c.precondition
  if (p !== undefined && (!isRecord(p) || !['uid', 'resourceVersion'].every(k => p[k] === undefined || typeof p[k] === 'string'))) {
    return bad('precondition', 'must be { uid?, resourceVersion? } with string values')
  }
  return undefined
}

function runCommand (stage: Stage, c: ObjectCommand): Result {
  const problem = checkCommand(c)
  if (problem !== undefined) return problem
  switch (c.op) {
    case 'create': return runCreate(stage, c.resource, c.object, c.uid, c.now)
    case 'update': return runUpdate(stage, c.resource, c.object, c.precondition ?? {}, c.scope)
    case 'patch': return runPatch(stage, c.resource, c.namespace, c.name, c.patch, c.precondition ?? {}, c.scope)
    case 'delete': return runDelete(stage, c.resource, c.namespace, c.name, c.precondition ?? {})
    default: return assertNever(c, 'command')
  }
}

type Owned = { uid: string, creationTimestamp: string, generation?: number | undefined, deletionTimestamp?: string | undefined }

/** The stored form of `input`: a frozen copy whose store-owned metadata is `owned`, written at `rv`. */
function buildObject (input: ObjectInput, owned: Owned, rv: number): KubeObject {
  const object = cloneJson(input) as Record<string, unknown>
  const metadata = { ...(object.metadata as Record<string, unknown>) }
  for (const k of OWNED) delete metadata[k]
  if (metadata.namespace === '') delete metadata.namespace
  metadata.uid = owned.uid
  metadata.resourceVersion = String(rv)
  metadata.creationTimestamp = owned.creationTimestamp
  if (owned.generation !== undefined) metadata.generation = owned.generation
  if (owned.deletionTimestamp !== undefined) metadata.deletionTimestamp = owned.deletionTimestamp
  object.metadata = metadata
  return deepFreeze(object) as KubeObject
}

function checkPreconditions (resource: string, current: KubeObject, p: Preconditions, forDelete: boolean): Failure | undefined {
  const { uid, resourceVersion, name } = current.metadata
  const prefix = `Operation cannot be fulfilled on ${named(resource, name)}`
  if (p.uid !== undefined && p.uid !== '' && p.uid !== uid) {
    return { ok: false, reason: 'Conflict', code: 409, message: `${prefix}: Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${uid}` }
  }
  if (p.resourceVersion === undefined || p.resourceVersion === '' || p.resourceVersion === resourceVersion) return undefined
  const message = forDelete
    ? `${prefix}: Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${resourceVersion}`
    : `${prefix}: the object has been modified; please apply your changes to the latest version and try again`
  return { ok: false, reason: 'Conflict', code: 409, message }
}

/**
 * Services get their cluster IP and node ports here, in log order
 * (service-addresses.ts), and Nodes their pod range from the ClusterConfig as
 * this entry sees it (pod-cidrs.ts); other objects pass as they are.
 */
function withAddresses (stage: Stage, resource: string, input: ObjectInput, current: KubeObject | undefined): { ok: true, object: ObjectInput } | Failure {
  if (resource !== 'services' && resource !== 'nodes') return { ok: true, object: input }
  const self = (o: KubeObject): boolean => namespaceOf(o) === namespaceOf(input) && o.metadata.name === input.metadata.name
  const others = [...stage.all(resource)].filter(o => !self(o))
  if (resource === 'nodes') return allocatePodCIDR(input, current, others, stage.read(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name))
  return allocateServiceAddresses(input, current, others)
}

function runCreate (stage: Stage, resource: string, given: ObjectInput, uid: string, now: string): Result {
  const namespace = typeof given.metadata.namespace === 'string' ? given.metadata.namespace : ''
  if (stage.read(resource, namespace, given.metadata.name) !== undefined) {
    return { ok: false, reason: 'AlreadyExists', code: 409, message: `${named(resource, given.metadata.name)} already exists` }
  }
  const allocated = withAddresses(stage, resource, given, undefined)
  if (!allocated.ok) return allocated
  const input = allocated.object
  const generation = Object.hasOwn(input, 'spec') && input.spec !== undefined ? 1 : undefined
  const object = buildObject(input, { uid, creationTimestamp: now, generation }, stage.rv)
  stage.write({ type: 'ADDED', resource, rv: stage.rv, object }, object)
  return { ok: true, object }
}

/**
 * Store `input` in place of `current`, keeping what only the store may set.
 * generation moves only when spec changes, never for status; a write that
 * changes nothing is not a write (no new resourceVersion, no event), as in Kubernetes.
 */
function replace (stage: Stage, resource: string, current: KubeObject, written: ObjectInput, scope: WriteScope | undefined): Result {
  const allocated = withAddresses(stage, resource, scoped(current, written, scope), current)
  if (!allocated.ok) return allocated
  const input = allocated.object
  const specChanged = !isJsonEqual(getOwn(current, 'spec'), getOwn(input, 'spec'))
  const generation = specChanged ? (current.metadata.generation ?? 0) + 1 : current.metadata.generation
  const deletionTimestamp = current.metadata.deletionTimestamp ?? input.metadata.deletionTimestamp
  const object = buildObject(input, { uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp, generation, deletionTimestamp }, stage.rv)
  if (isJsonEqual(withResourceVersion(object, 0), withResourceVersion(current, 0))) return { ok: true, object: current }
  stage.write({ type: 'MODIFIED', resource, rv: stage.rv, object, previous: current }, object)
  return { ok: true, object }
}

/** The object a write of `scope` leaves: the written status over the stored rest, or the reverse. */
function scoped (current: KubeObject, written: ObjectInput, scope: WriteScope | undefined): ObjectInput {
  if (scope === undefined) return written
  const [base, statusFrom] = scope === 'status' ? [current as ObjectInput, written] : [written, current as ObjectInput]
  const { status: _dropped, ...rest } = base
  return Object.hasOwn(statusFrom, 'status') && statusFrom.status !== undefined ? { ...rest, status: statusFrom.status } : rest
}

function runUpdate (stage: Stage, resource: string, input: ObjectInput, p: Preconditions, scope: WriteScope | undefined): Result {
  const { name } = input.metadata
  const current = stage.read(resource, typeof input.metadata.namespace === 'string' ? input.metadata.namespace : '', name)
  if (current === undefined) return { ok: false, reason: 'NotFound', code: 404, message: `${named(resource, name)} not found` }
  const conflict = checkPreconditions(resource, current, { uid: p.uid ?? input.metadata.uid, resourceVersion: p.resourceVersion ?? input.metadata.resourceVersion }, false)
  return conflict ?? replace(stage, resource, current, input, scope)
}

function runPatch (stage: Stage, resource: string, namespace: string, name: string, patch: unknown, p: Preconditions, scope: WriteScope | undefined): Result {
  const current = stage.read(resource, namespace, name)
  if (current === undefined) return { ok: false, reason: 'NotFound', code: 404, message: `${named(resource, name)} not found` }
  const patchMeta = isRecord(patch) && isRecord(patch.metadata) ? patch.metadata : {}
  const patchRv = typeof patchMeta.resourceVersion === 'string' ? patchMeta.resourceVersion : undefined
  const conflict = checkPreconditions(resource, current, { uid: p.uid, resourceVersion: p.resourceVersion ?? patchRv }, false)
  if (conflict !== undefined) return conflict
  const patched = applyMergePatch(current, patch)
  const refuse = (field: string, value: unknown): Failure =>
    invalid(`${named(resource, name)} is invalid: ${field}: Invalid value: ${JSON.stringify(value ?? null)}: field is immutable`, field)
  if (!isRecord(patched) || !isRecord(patched.metadata)) return refuse('metadata', isRecord(patched) ? patched.metadata : patched)
  const meta = patched.metadata
  if (meta.name !== name) return refuse('metadata.name', meta.name)
  if ((meta.namespace ?? '') !== namespace) return refuse('metadata.namespace', meta.namespace)
  if (meta.uid !== current.metadata.uid) return refuse('metadata.uid', meta.uid)
  if (patched.kind !== current.kind) return refuse('kind', patched.kind)
  if (typeof patched.apiVersion !== 'string') return invalid(`${named(resource, name)} is invalid: apiVersion: Required value`, 'apiVersion')
  if (meta.deletionTimestamp !== undefined && typeof meta.deletionTimestamp !== 'string') {
    return invalid(`${named(resource, name)} is invalid: metadata.deletionTimestamp: must be a string`, 'metadata.deletionTimestamp')
  }
  return replace(stage, resource, current, patched as unknown as ObjectInput, scope)
}

function runDelete (stage: Stage, resource: string, namespace: string, name: string, p: Preconditions): Result {
  const current = stage.read(resource, namespace, name)
  if (current === undefined) return { ok: false, reason: 'NotFound', code: 404, message: `${named(resource, name)} not found` }
  const conflict = checkPreconditions(resource, current, p, true)
  if (conflict !== undefined) return conflict
  const object = withResourceVersion(current, stage.rv)
  stage.write({ type: 'DELETED', resource, rv: stage.rv, object, previous: current }, undefined)
  return { ok: true, object }
}
