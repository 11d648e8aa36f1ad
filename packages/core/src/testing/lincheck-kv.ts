import { InvalidConfigError } from '../errors.ts'

/**
 * A linearizability checker for a key-value register workload, in the manner
 * of Knossos and Porcupine: given what clients saw (each operation's
 * invocation, response and result), is there one total order of the
 * operations that respects real time and that a single-copy register would
 * have produced?
 *
 * How:
 * - Linearizability is compositional (Herlihy & Wing), and operations on
 *   different keys do not interact, so each key is checked on its own. This
 *   is what keeps a history of thousands of operations cheap: the search is
 *   exponential only in the concurrency within one key.
 * - Each key is searched as Wing & Gong describe, with Lowe's memoization, as
 *   Porcupine does: the history is a doubly linked list of call and return
 *   events in time order; the search linearizes any operation whose call
 *   comes before the first pending return, removes it from the list and
 *   recurses, and backtracks when it meets a return (an operation that had to
 *   take effect by then and could not). A configuration (set of linearized
 *   operations, register value) seen before cannot lead anywhere new, so it
 *   is cached and skipped; that turns the factorial search into one over the
 *   configurations that concurrency actually allows.
 * - Three rules keep that number small where a Raft test would blow it up,
 *   each argued where it is defined: writes of unknown outcome that nobody
 *   observed are dropped (dropUnobservableWrites); one that somebody observed
 *   becomes known (boundObservedWrites); and a read that fits the current
 *   value is taken without branching (Search).
 *
 * Pure: no clock, no randomness, no I/O; the same history always gives the
 * same answer and the same explanation.
 */

export type KvInput =
  | { readonly kind: 'get', readonly key: string }
  | { readonly kind: 'put', readonly key: string, readonly value: string }
  | { readonly kind: 'cas', readonly key: string, readonly expected: string | null, readonly value: string }

/** get: the value read (null: the key has no value). put: ok true (ok false: refused, took no effect). cas: whether it swapped. */
export type KvOutput = { readonly value: string | null } | { readonly ok: boolean }

export interface Operation {
  /** Who issued it; only used to name the operation in explanations. */
  readonly client: number
  readonly input: KvInput
  /** Logical time the call was invoked and the time it returned; call < return. */
  readonly call: number
  readonly return: number
  /** undefined = the operation's outcome is unknown (timed out / crashed): it may or may not have taken effect, at any time after `call`. */
  readonly output: KvOutput | undefined
}

/**
 * ok: true means a linearization exists for every key. ok: false names the
 * first key (in sorted order) that has none, or, when no key is known to
 * fail, the first key whose search ran out of steps; that explanation starts
 * with `inconclusive:` so a caller (and a reader of a test failure) cannot
 * mistake it for either answer.
 */
export type CheckResult = { readonly ok: true } | { readonly ok: false, readonly key: string, readonly explanation: string }

export interface KvCheckOptions {
  /** The search budget of each key, in search steps; see DEFAULT_MAX_STEPS. */
  readonly maxSteps?: number
}

/**
 * A step is one look at a candidate operation. A linearizable history needs
 * roughly (operations × concurrency) of them, tens of thousands for a few
 * thousand operations of 5 clients; a violation is usually proven in a
 * similar number. A step costs about 50–100 ns and at most one cache entry
 * (about 50 bytes), so a million is ~0.1 s and ~50 MB per key. It is reached
 * only with heavy concurrency on one key (3,000 operations of 20 clients
 * take ~4 million), where an honest "inconclusive" beats hanging the run.
 */
export const DEFAULT_MAX_STEPS = 1_000_000

/**
 * Check that `history` is linearizable with respect to a map of registers,
 * every key starting as null.
 *
 * Semantics beyond the obvious:
 * - An operation with output undefined may take effect at any time after its
 *   call, or never. Unknown gets constrain nothing and are ignored.
 * - A put answered { ok: false } was refused: it is taken never to have
 *   taken effect.
 * - Real-time order is strict: A precedes B only if A.return < B.call. An
 *   operation returning at t and one invoked at t are concurrent, since
 *   logical clocks that tie say nothing about which came first.
 * - `maxSteps` bounds each key's search; a key that exceeds it makes the
 *   result ok: false with an explanation starting `inconclusive:`. A key
 *   proven non-linearizable is reported in preference to an inconclusive one.
 *
 * Throws InvalidConfigError for a malformed history (times that are not
 * numbers, a known output at or before its call, an output that does not fit
 * the input's kind): that is a bug in the test harness, not a verdict.
 */
export function checkKvHistory (history: readonly Operation[], opts: KvCheckOptions = {}): CheckResult {
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS
  const problems = findProblems(history)
  if (!(maxSteps >= 0)) problems.unshift(`maxSteps must be a non-negative number, got ${String(maxSteps)}`)
  if (problems.length > 0) throw new InvalidConfigError(problems)

  let inconclusive: CheckResult | undefined
  for (const [key, entries] of partitionByKey(history)) {
    const verdict = checkKey(key, entries, maxSteps)
    if (verdict.kind === 'violation') return { ok: false, key, explanation: verdict.explanation }
    if (verdict.kind === 'inconclusive' && inconclusive === undefined) inconclusive = { ok: false, key, explanation: verdict.explanation }
  }
  return inconclusive ?? { ok: true }
}

// ---------------------------------------------------------------------------
// Validation and partitioning

/** One operation of the caller's history, with its position there (to name it in explanations). */
interface Entry {
  readonly at: number
  readonly op: Operation
}

const MAX_PROBLEMS = 10

/** Every problem in the history, capped so a wholly broken history still gives a readable error. */
function findProblems (history: readonly Operation[]): string[] {
  const problems: string[] = []
  let more = 0
  history.forEach((op, at) => {
    const problem = findProblem(op)
    if (problem === undefined) return
    if (problems.length < MAX_PROBLEMS) problems.push(`operation #${at}: ${problem}`)
    else more++
  })
  if (more > 0) problems.push(`and ${more} more`)
  return problems
}

function findProblem (op: Operation): string | undefined {
  const { input, output } = op
  if (typeof input?.key !== 'string') return 'input.key must be a string'
  if (input.kind !== 'get' && input.kind !== 'put' && input.kind !== 'cas') return `input.kind must be get, put or cas, got ${String((input as { kind?: unknown }).kind)}`
  if (input.kind !== 'get' && typeof input.value !== 'string') return 'input.value must be a string'
  if (input.kind === 'cas' && input.expected !== null && typeof input.expected !== 'string') return 'input.expected must be a string or null'
  if (!Number.isFinite(op.call)) return `call must be a finite number, got ${String(op.call)}`
  if (output === undefined) return undefined
  if (!Number.isFinite(op.return)) return `return must be a finite number when the output is known, got ${String(op.return)}`
  if (!(op.call < op.return)) return `call (${op.call}) must come before return (${op.return})`
  if (input.kind === 'get') {
    const value = (output as { value?: unknown }).value
    return value === null || typeof value === 'string' ? undefined : 'a get\'s output must be { value: string | null }'
  }
  return typeof (output as { ok?: unknown }).ok === 'boolean' ? undefined : `a ${input.kind}'s output must be { ok: boolean }`
}

/** The history split by key, keys in sorted order so that results do not depend on the history's order. */
function partitionByKey (history: readonly Operation[]): Array<[string, Entry[]]> {
  const byKey = new Map<string, Entry[]>()
  history.forEach((op, at) => {
    const entries = byKey.get(op.input.key)
    if (entries === undefined) byKey.set(op.input.key, [{ at, op }])
    else entries.push({ at, op })
  })
  return [...byKey].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

// ---------------------------------------------------------------------------
// One key

type KeyVerdict = { readonly kind: 'ok' } | { readonly kind: 'violation' | 'inconclusive', readonly explanation: string }

/**
 * One operation on the key, compiled for the search: register values are
 * interned as small integers (null is 0) so that applying an operation and
 * caching a configuration compare numbers, not strings.
 */
interface Step {
  readonly entry: Entry
  readonly kind: 'get' | 'put' | 'cas'
  readonly call: number
  /** Infinity when the outcome is unknown: nothing forces it to take effect. */
  readonly ret: number
  readonly known: boolean
  /** get: the value it returned; cas: the value it expected; put: NO_VALUE. */
  readonly reads: number
  /** put and cas: the value they write; get: NO_VALUE. */
  readonly writes: number
  /** A known cas: whether it swapped. */
  readonly swapped: boolean
}

const NULL_VALUE = 0
/** Not a value: "no such read or write", and, from applyStep, "cannot be linearized here". */
const NO_VALUE = -1

function checkKey (key: string, entries: readonly Entry[], maxSteps: number): KeyVerdict {
  const values = new ValueTable()
  const steps = entries.flatMap(entry => compileStep(entry, values))
  const impossible = findImpossibleRead(steps)
  if (impossible !== undefined) {
    return { kind: 'violation', explanation: `key ${quote(key)} is not linearizable: ${describeEntry(impossible.entry)} observed a value that no operation on the key wrote (or that only a refused put did).` }
  }
  const searched = boundObservedWrites(dropUnobservableWrites(steps)).sort((a, b) => a.call - b.call || a.entry.at - b.entry.at)
  const outcome = search(searched, maxSteps)
  if (outcome.kind === 'ok') return outcome
  if (outcome.kind === 'inconclusive') {
    return { kind: 'inconclusive', explanation: `inconclusive: the search for key ${quote(key)} gave up after ${maxSteps} steps without finding a linearization or ruling one out (${searched.length} operations on the key); raise maxSteps or check a shorter history.` }
  }
  return { kind: 'violation', explanation: explainViolation(key, searched, entries.length - searched.length, outcome, values) }
}

/** Register values of one key, interned; id 0 is null. */
class ValueTable {
  readonly #ids = new Map<string, number>()
  readonly #names: Array<string | null> = [null]

  id (value: string | null): number {
    if (value === null) return NULL_VALUE
    let id = this.#ids.get(value)
    if (id === undefined) {
      id = this.#names.length
      this.#ids.set(value, id)
      this.#names.push(value)
    }
    return id
  }

  name (id: number): string | null { return this.#names[id] ?? null }
}

/**
 * The operation as the search sees it, or nothing for operations that cannot
 * constrain anything: a get with unknown outcome, and a put that was refused.
 */
function compileStep (entry: Entry, values: ValueTable): Step[] {
  const { op } = entry
  const { input, output } = op
  const known = output !== undefined
  const base = { entry, call: op.call, ret: known ? op.return : Infinity, known }
  switch (input.kind) {
    case 'get':
      if (output === undefined || !('value' in output)) return []
      return [{ ...base, kind: 'get', reads: values.id(output.value), writes: NO_VALUE, swapped: false }]
    case 'put':
      if (output !== undefined && 'ok' in output && !output.ok) return []
      return [{ ...base, kind: 'put', reads: NO_VALUE, writes: values.id(input.value), swapped: false }]
    case 'cas': {
      const swapped = output !== undefined && 'ok' in output && output.ok
      return [{ ...base, kind: 'cas', reads: values.id(input.expected), writes: values.id(input.value), swapped }]
    }
  }
}

/**
 * The register value after linearizing `step` on `state`, or NO_VALUE when it
 * cannot take effect there. An unknown cas that would not swap is refused
 * too: it would change nothing, and leaving it unlinearized is never worse.
 */
function applyStep (step: Step, state: number): number {
  switch (step.kind) {
    case 'get': return state === step.reads ? state : NO_VALUE
    case 'put': return step.writes
    case 'cas': {
      const failed = step.known && !step.swapped
      if (state === step.reads) return failed ? NO_VALUE : step.writes
      return failed ? state : NO_VALUE
    }
  }
}

/** An operation that never changes the value: a known get, or a known cas that failed. */
function isRead (step: Step): boolean {
  return step.known && (step.kind === 'get' || (step.kind === 'cas' && !step.swapped))
}

/**
 * A known get (or a cas that swapped) that read a value nothing may have
 * written. The search would find this too, but can only say that nothing
 * fits; this says why.
 */
function findImpossibleRead (steps: readonly Step[]): Step | undefined {
  const written = new Set<number>([NULL_VALUE])
  for (const s of steps) if (s.kind !== 'get' && (!s.known || s.kind === 'put' || s.swapped)) written.add(s.writes)
  return steps.find(s => s.known && (s.kind === 'get' || s.swapped) && !written.has(s.reads))
}

/**
 * Drop the writes of unknown outcome whose value nobody observed. Each one
 * left in doubles the configurations the search may visit from its call on
 * (taken effect or not), and a Raft test that times out many puts with
 * unique values would otherwise blow the search up.
 *
 * Why it is sound, for an unknown write W of value V: take a linearization
 * that includes W and remove W. Only operations after W and up to the next
 * write see a different value: S, the one before W, instead of V. No known
 * get returned V and no cas expected V, so none of them is a get or a cas
 * that swapped (an unknown cas appears only where it swapped). A known cas
 * that failed against V also fails against S unless it expected S; W is kept
 * if such a cas could come after it (did not return before W's call) and
 * expected a value, or expected null while the key may still be null at W
 * (no known write returned before W's call; nothing makes a key null again).
 * So the stretch sees no difference, the rest is unchanged, and the history
 * without W is linearizable too. The converse is trivial (W may never take
 * effect).
 */
function dropUnobservableWrites (steps: readonly Step[]): Step[] {
  const observed = new Set<number>()
  const failedCas: Step[] = []
  let firstWriteDone = Infinity
  for (const s of steps) {
    if ((s.kind === 'get' && s.known) || s.kind === 'cas') observed.add(s.reads)
    if (s.kind === 'cas' && isRead(s)) failedCas.push(s)
    if (s.known && (s.kind === 'put' || s.swapped)) firstWriteDone = Math.min(firstWriteDone, s.ret)
  }
  const mayMatter = (w: Step, failed: Step): boolean => failed.ret >= w.call && (failed.reads !== NULL_VALUE || firstWriteDone >= w.call)
  return steps.filter(s => s.known || observed.has(s.writes) || failedCas.some(f => mayMatter(s, f)))
}

/**
 * Turn a write of unknown outcome that someone observed into a known one
 * when it is the only operation that writes its value: every known get that
 * returned the value, or cas that swapped from it, must come after it, so it
 * did take effect, and no later than the earliest of those returned.
 *
 * This is the common case in a Raft test (a put times out, the leader still
 * commits it, later reads see it), and it matters: an unknown write is
 * otherwise concurrent with everything after its call, and the search would
 * try it at every point until the first read of its value.
 *
 * Left alone when that earliest return precedes the write's call: the
 * history is then not linearizable, and the search says so.
 */
function boundObservedWrites (steps: readonly Step[]): Step[] {
  const writers = new Map<number, number>()
  const deadline = new Map<number, number>()
  for (const s of steps) {
    if (s.kind !== 'get' && (!s.known || s.kind === 'put' || s.swapped)) writers.set(s.writes, (writers.get(s.writes) ?? 0) + 1)
    if (s.known && (s.kind === 'get' || s.swapped)) deadline.set(s.reads, Math.min(s.ret, deadline.get(s.reads) ?? Infinity))
  }
  return steps.map(s => {
    const by = deadline.get(s.writes)
    if (s.known || s.kind === 'get' || by === undefined || by < s.call || writers.get(s.writes) !== 1) return s
    return { ...s, known: true, ret: by, swapped: true }
  })
}

// ---------------------------------------------------------------------------
// The search

type SearchOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'inconclusive' }
  | { readonly kind: 'violation', readonly longest: Int32Array, readonly state: number }

/** The WGL search over one key's steps; see the top of the file and Search. */
function search (steps: readonly Step[], maxSteps: number): SearchOutcome {
  return new Search(steps).run(maxSteps)
}

/**
 * Operation i is node 2i (its call) and 2i+1 (its return) in the event list;
 * the sentinels are 2n (head) and 2n+1 (tail, odd like a return and never
 * reached while a known operation is left, since every known return precedes
 * it). In `run`, meeting the head means "entered a new configuration" and
 * meeting a return (or the tail) means "this configuration failed".
 *
 * Beyond Porcupine, one pruning rule: a read (a known get, or a known cas
 * that failed) that can be linearized now is forced. If any linearization of
 * the rest exists, so does one starting with that read: taking it out of its
 * place changes no value anyone sees, since it writes nothing; put first, it
 * sees the value it needs; and as a candidate, nothing pending had to
 * precede it. So the search takes it without branching, and when that fails
 * the whole configuration fails. Without this, concurrent reads of one value
 * (many clients polling) make the search try their subsets. (A put of the
 * value already there is not forced: where it really went, it may have
 * changed the value.)
 *
 * Succeeds as soon as every known operation is linearized: the unknown ones
 * left may never have taken effect. On failure it reports the longest partial
 * linearization it found, the place a reader should look first.
 */
class Search {
  readonly #steps: readonly Step[]
  readonly #head: number
  readonly #tail: number
  readonly #next: Int32Array
  readonly #prev: Int32Array
  readonly #linearized: OpSet
  readonly #cache = new ConfigCache()
  readonly #zobrist: Int32Array
  readonly #stackOp: Int32Array
  readonly #stackState: Int32Array
  readonly #stackForced: Uint8Array
  #depth = 0
  #state = NULL_VALUE
  #hash1 = 0
  #hash2 = 0
  #knownLeft: number
  #longest = new Int32Array(0)
  #longestState = NULL_VALUE

  constructor (steps: readonly Step[]) {
    const n = steps.length
    this.#steps = steps
    this.#head = 2 * n
    this.#tail = 2 * n + 1
    const { next, prev } = linkEvents(steps)
    this.#next = next
    this.#prev = prev
    this.#linearized = new OpSet(n)
    this.#zobrist = makeZobrist(n)
    this.#stackOp = new Int32Array(n)
    this.#stackState = new Int32Array(n)
    this.#stackForced = new Uint8Array(n)
    this.#knownLeft = steps.filter(s => s.known).length
  }

  run (maxSteps: number): SearchOutcome {
    let node = this.#head
    for (let work = 0; this.#knownLeft > 0; work++) {
      if (work >= maxSteps) return { kind: 'inconclusive' }
      if (node === this.#head) node = this.#enter()
      else if ((node & 1) === 0) node = this.#tryCall(node)
      else if (this.#depth === 0) return { kind: 'violation', longest: this.#longest, state: this.#longestState }
      else node = this.#backtrack()
    }
    return { kind: 'ok' }
  }

  /** In a new configuration: take a forced read if there is one, else scan the candidates from the first. */
  #enter (): number {
    for (let node = this.#next[this.#head]!; (node & 1) === 0; node = this.#next[node]!) {
      const i = node >>> 1
      const step = this.#steps[i]!
      if (!isRead(step) || applyStep(step, this.#state) === NO_VALUE) continue
      return this.#push(i, this.#state, true) ? this.#head : this.#tail
    }
    return this.#next[this.#head]!
  }

  /** Try to linearize the operation called at `node` now; where to go next. */
  #tryCall (node: number): number {
    const i = node >>> 1
    const after = applyStep(this.#steps[i]!, this.#state)
    if (after !== NO_VALUE && this.#push(i, after, false)) return this.#head
    return this.#next[node]!
  }

  /** Undo the last choice; try the next candidate after it, or, if it was forced, fail its configuration too. */
  #backtrack (): number {
    this.#depth--
    const d = this.#depth
    const i = this.#stackOp[d]!
    this.#state = this.#stackState[d]!
    this.#hash1 ^= this.#zobrist[2 * i]!
    this.#hash2 ^= this.#zobrist[2 * i + 1]!
    this.#linearized.remove(i)
    if (this.#steps[i]!.known) this.#knownLeft++
    unlift(this.#next, this.#prev, i)
    return this.#stackForced[d] === 1 ? this.#tail : this.#next[2 * i]!
  }

  /** Linearize operation i, leaving `after`, unless that configuration was seen before. */
  #push (i: number, after: number, forced: boolean): boolean {
    const h1 = this.#hash1 ^ this.#zobrist[2 * i]!
    const h2 = this.#hash2 ^ this.#zobrist[2 * i + 1]!
    this.#linearized.add(i)
    if (!this.#cache.add(this.#linearized, after, h1, h2)) {
      this.#linearized.remove(i)
      return false
    }
    const d = this.#depth++
    this.#stackOp[d] = i
    this.#stackState[d] = this.#state
    this.#stackForced[d] = forced ? 1 : 0
    this.#state = after
    this.#hash1 = h1
    this.#hash2 = h2
    if (this.#steps[i]!.known) this.#knownLeft--
    lift(this.#next, this.#prev, i)
    if (this.#depth > this.#longest.length) {
      this.#longest = this.#stackOp.slice(0, this.#depth)
      this.#longestState = after
    }
    return true
  }
}

/**
 * The calls and returns in time order as a doubly linked list. At equal times
 * calls go first, so that operations that touch at one instant count as
 * concurrent (see checkKvHistory).
 */
function linkEvents (steps: readonly Step[]): { next: Int32Array, prev: Int32Array } {
  const n = steps.length
  const timeOf = (node: number): number => (node & 1) === 0 ? steps[node >>> 1]!.call : steps[node >>> 1]!.ret
  const order = Array.from({ length: 2 * n }, (_, node) => node).sort((a, b) => {
    const ta = timeOf(a)
    const tb = timeOf(b)
    if (ta !== tb) return ta < tb ? -1 : 1
    return (a & 1) - (b & 1) || a - b
  })
  const next = new Int32Array(2 * n + 2)
  const prev = new Int32Array(2 * n + 2)
  let last = 2 * n
  for (const node of order) {
    next[last] = node
    prev[node] = last
    last = node
  }
  next[last] = 2 * n + 1
  prev[2 * n + 1] = last
  return { next, prev }
}

/** Take operation i's call and return out of the list. */
function lift (next: Int32Array, prev: Int32Array, i: number): void {
  const call = 2 * i
  const ret = call + 1
  next[prev[call]!] = next[call]!
  prev[next[call]!] = prev[call]!
  next[prev[ret]!] = next[ret]!
  prev[next[ret]!] = prev[ret]!
}

/** Undo lift(i). Lifts are undone in reverse order, so the removed nodes' own links are still valid (dancing links). */
function unlift (next: Int32Array, prev: Int32Array, i: number): void {
  const call = 2 * i
  const ret = call + 1
  next[prev[ret]!] = ret
  prev[next[ret]!] = ret
  next[prev[call]!] = call
  prev[next[call]!] = call
}

/**
 * A set of operations as a bitset. Operations are numbered in call order and
 * the search mostly moves forward, so the set is nearly always a run of full
 * words, a few mixed ones, then zeros; it tracks where the mixed part starts
 * (`lo`) and ends (`hi`) so that the cache stores only those words.
 */
class OpSet {
  readonly words: Uint32Array
  /** Every word before lo is full. */
  lo = 0
  /** Every word from hi on is empty. */
  hi = 0

  constructor (n: number) {
    this.words = new Uint32Array((n + 31) >>> 5)
  }

  add (i: number): void {
    const w = i >>> 5
    const word = (this.words[w]! | (1 << (i & 31))) >>> 0
    this.words[w] = word
    if (w >= this.hi) this.hi = w + 1
    if (w === this.lo && word === FULL_WORD) {
      while (this.lo < this.words.length && this.words[this.lo] === FULL_WORD) this.lo++
    }
  }

  remove (i: number): void {
    const w = i >>> 5
    const word = this.words[w]! & ~(1 << (i & 31))
    this.words[w] = word
    if (w < this.lo) this.lo = w
    if (w === this.hi - 1 && word === 0) {
      while (this.hi > 0 && this.words[this.hi - 1] === 0) this.hi--
    }
  }
}

const FULL_WORD = 0xffffffff

/**
 * Two pseudo-random 32-bit words per operation: the hash of a set of
 * operations is the XOR of its members' words (Zobrist hashing), updated in
 * O(1) as the search adds and removes operations.
 */
function makeZobrist (n: number): Int32Array {
  const z = new Int32Array(2 * n)
  for (let k = 0; k < 2 * n; k++) z[k] = mix32(k + 1)
  return z
}

/** MurmurHash3's finalizer: a cheap bijection on 32 bits that spreads every input bit. */
function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x | 0
}

/**
 * The configurations the search has already been in: (set of linearized
 * operations, register value). An open-addressing hash table over typed
 * arrays, since a failing search may store up to maxSteps of them: a Map of
 * bitsets would take far more memory (and caps out at 2^24 entries). Each
 * entry keeps the mixed words of its set (see OpSet) in a shared pool, a few
 * words even for thousands of operations, so a hash collision is never taken
 * for a hit.
 */
class ConfigCache {
  #slots = new Int32Array(1024)
  #hash1 = new Int32Array(512)
  #hash2 = new Int32Array(512)
  #states = new Int32Array(512)
  #lo = new Int32Array(512)
  #length = new Int32Array(512)
  #offset = new Int32Array(512)
  #pool = new Uint32Array(4096)
  #poolUsed = 0
  #size = 0

  /** Record the configuration; false if it was already recorded. */
  add (set: OpSet, state: number, setHash1: number, setHash2: number): boolean {
    const h1 = setHash1 ^ mix32(state ^ 0x5bd1e995)
    const h2 = setHash2 ^ mix32(state ^ 0x1b873593)
    const mask = this.#slots.length - 1
    let slot = h1 & mask
    for (let e = this.#slots[slot]!; e !== 0; e = this.#slots[slot]!) {
      if (this.#matches(e - 1, set, state, h1, h2)) return false
      slot = (slot + 1) & mask
    }
    this.#insert(set, state, h1, h2)
    return true
  }

  #matches (e: number, set: OpSet, state: number, h1: number, h2: number): boolean {
    const { words, lo, hi } = set
    if (this.#hash1[e] !== h1 || this.#hash2[e] !== h2 || this.#states[e] !== state) return false
    if (this.#lo[e] !== lo || this.#length[e] !== hi - lo) return false
    const base = this.#offset[e]! - lo
    for (let w = lo; w < hi; w++) if (this.#pool[base + w] !== words[w]) return false
    return true
  }

  #insert (set: OpSet, state: number, h1: number, h2: number): void {
    const { words, lo, hi } = set
    const length = Math.max(0, hi - lo)
    if (this.#size === this.#states.length) this.#growEntries()
    if (this.#poolUsed + length > this.#pool.length) this.#growPool(this.#poolUsed + length)
    const e = this.#size++
    this.#hash1[e] = h1
    this.#hash2[e] = h2
    this.#states[e] = state
    this.#lo[e] = lo
    this.#length[e] = length
    this.#offset[e] = this.#poolUsed
    this.#pool.set(words.subarray(lo, lo + length), this.#poolUsed)
    this.#poolUsed += length
    if (this.#size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2)
    else this.#place(e)
  }

  #place (e: number): void {
    const mask = this.#slots.length - 1
    let slot = this.#hash1[e]! & mask
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask
    this.#slots[slot] = e + 1
  }

  #rehash (size: number): void {
    this.#slots = new Int32Array(size)
    for (let e = 0; e < this.#size; e++) this.#place(e)
  }

  #growEntries (): void {
    const capacity = this.#states.length * 2
    this.#hash1 = grow(this.#hash1, capacity)
    this.#hash2 = grow(this.#hash2, capacity)
    this.#states = grow(this.#states, capacity)
    this.#lo = grow(this.#lo, capacity)
    this.#length = grow(this.#length, capacity)
    this.#offset = grow(this.#offset, capacity)
  }

  #growPool (needed: number): void {
    const pool = new Uint32Array(Math.max(needed, this.#pool.length * 2))
    pool.set(this.#pool)
    this.#pool = pool
  }
}

function grow (a: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(capacity)
  b.set(a)
  return b
}

// ---------------------------------------------------------------------------
// Explanations

const SHOWN_LINEARIZED = 3
const SHOWN_STUCK = 10

/**
 * Where the search got stuck, in words: how far the longest partial
 * linearization got, its last few operations and the value they leave, and
 * the operations that could come next (every one whose call precedes the
 * earliest pending return) yet none of which could be linearized there. Other
 * partial linearizations may be stuck elsewhere; this one is the furthest.
 */
function explainViolation (key: string, steps: readonly Step[], ignored: number, outcome: { longest: Int32Array, state: number }, values: ValueTable): string {
  const { longest, state } = outcome
  const done = new Set(longest)
  const lines = [`key ${quote(key)} is not linearizable.`]
  if (ignored > 0) lines.push(`(${ignored} of its operations cannot matter and were left out: gets and writes of unknown outcome that nobody observed, refused puts.)`)
  if (longest.length === 0) {
    lines.push('No operation can be linearized first, with the key still unset (null).')
  } else {
    lines.push(`The longest partial linearization found orders ${longest.length} of the ${ignored > 0 ? 'remaining' : 'key\'s'} ${steps.length} operations; it ends with:`)
    const shown = [...longest].slice(-SHOWN_LINEARIZED)
    if (longest.length > shown.length) lines.push('  …')
    for (const i of shown) lines.push(`  ${describeEntry(steps[i]!.entry)}`)
    lines.push(`which leaves the value ${quote(values.name(state))}.`)
  }
  const stuck = findNextCandidates(steps, done)
  lines.push('None of these operations could be linearized next:')
  for (const s of stuck.slice(0, SHOWN_STUCK)) lines.push(`  ${describeEntry(s.entry)}`)
  if (stuck.length > SHOWN_STUCK) lines.push(`  … and ${stuck.length - SHOWN_STUCK} more`)
  return lines.join('\n')
}

/** The operations not in `done` that may be linearized next: those called no later than the earliest pending known return. */
function findNextCandidates (steps: readonly Step[], done: ReadonlySet<number>): Step[] {
  const pending = steps.filter((_, i) => !done.has(i))
  const deadline = pending.reduce((min, s) => s.known && s.ret < min ? s.ret : min, Infinity)
  return pending.filter(s => s.call <= deadline).sort((a, b) => a.call - b.call || a.entry.at - b.entry.at)
}

/** `#12 client 3: put "7" → ok (called at 40, returned at 45)`: enough to find the operation in the history and in a log. */
function describeEntry ({ at, op }: Entry): string {
  const when = op.output === undefined ? `called at ${op.call}, outcome unknown` : `called at ${op.call}, returned at ${op.return}`
  return `#${at} client ${op.client}: ${describeInput(op.input)} → ${describeOutput(op)} (${when})`
}

function describeInput (input: KvInput): string {
  switch (input.kind) {
    case 'get': return 'get'
    case 'put': return `put ${quote(input.value)}`
    case 'cas': return `cas from ${quote(input.expected)} to ${quote(input.value)}`
  }
}

function describeOutput ({ input, output }: Operation): string {
  if (output === undefined) return 'unknown'
  if ('value' in output) return quote(output.value)
  if (input.kind === 'cas') return output.ok ? 'swapped' : 'not swapped'
  return output.ok ? 'ok' : 'refused'
}

function quote (value: string | null): string {
  return JSON.stringify(value)
}
