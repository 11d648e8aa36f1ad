import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { checkKvHistory, DEFAULT_MAX_STEPS } from './lincheck-kv.ts'
import type { KvInput, KvOutput, Operation } from './lincheck-kv.ts'
import { InvalidConfigError } from '../errors.ts'
import { seededRandom } from '../rand.ts'

// Builders. Times are logical; the client defaults to one per operation, so
// that nothing here relies on client identity (the checker does not).

function get (key: string, value: string | null, call: number, ret: number, client = 0): Operation {
  return { client, input: { kind: 'get', key }, call, return: ret, output: { value } }
}

function put (key: string, value: string, call: number, ret: number, client = 0): Operation {
  return { client, input: { kind: 'put', key, value }, call, return: ret, output: { ok: true } }
}

function cas (key: string, expected: string | null, value: string, swapped: boolean, call: number, ret: number, client = 0): Operation {
  return { client, input: { kind: 'cas', key, expected, value }, call, return: ret, output: { ok: swapped } }
}

/** The same operation, timed out: it may or may not have taken effect. */
function lost (op: Operation): Operation {
  return { ...op, output: undefined }
}

function assertOk (history: readonly Operation[], what?: string): void {
  const result = checkKvHistory(history)
  assert.deepEqual(result, { ok: true }, what)
}

/** Assert a violation on `key` and return its explanation. */
function assertViolation (history: readonly Operation[], key: string, what?: string): string {
  const result = checkKvHistory(history)
  assert.equal(result.ok, false, what)
  if (result.ok) throw new Error('unreachable')
  assert.equal(result.key, key, what)
  assert.doesNotMatch(result.explanation, /^inconclusive/, what)
  assert.match(result.explanation, new RegExp(`key "${key}"`), what)
  return result.explanation
}

describe('checkKvHistory: linearizable histories pass', () => {
  const table: Array<[string, Operation[]]> = [
    ['an empty history', []],
    ['a read of a key never written returns null', [get('x', null, 0, 1)]],
    ['sequential put then get', [put('x', '1', 0, 1), get('x', '1', 2, 3)]],
    ['sequential overwrites', [put('x', '1', 0, 1), put('x', '2', 2, 3), get('x', '2', 4, 5), put('x', '3', 6, 7), get('x', '3', 8, 9)]],
    ['keys are independent', [put('x', '1', 0, 1), put('y', '2', 2, 3), get('x', '1', 4, 5), get('y', '2', 6, 7), get('z', null, 8, 9)]],
    ['a get concurrent with a put may see the old value', [put('x', '1', 0, 1), put('x', '2', 2, 10), get('x', '1', 3, 4)]],
    ['a get concurrent with a put may see the new value', [put('x', '1', 0, 1), put('x', '2', 2, 10), get('x', '2', 3, 4)]],
    ['concurrent puts may land in either order', [put('x', 'a', 0, 10), put('x', 'b', 1, 9), get('x', 'a', 11, 12)]],
    ['reads during concurrent puts can see both orders as long as they agree', [put('x', 'a', 0, 10), put('x', 'b', 0, 10), get('x', 'b', 1, 2), get('x', 'a', 3, 4), get('x', 'a', 11, 12)]],
    ['an operation returning at t and one called at t are concurrent', [put('x', '1', 0, 5), get('x', null, 5, 6)]],
    ['the history need not be in time order', [get('x', '2', 8, 9), put('x', '2', 4, 5), put('x', '1', 0, 1)]]
  ]
  for (const [name, history] of table) it(name, () => assertOk(history))
})

describe('checkKvHistory: violations are caught', () => {
  it('catches a deliberately stale read', () => {
    const history = [
      put('x', '1', 0, 1, 1),
      put('x', '2', 2, 3, 1),
      get('x', '1', 4, 5, 2) // put "2" completed before this get was invoked
    ]
    const explanation = assertViolation(history, 'x')
    assert.match(explanation, /#2 client 2: get → "1" \(called at 4, returned at 5\)/, 'names the stale get')
    assert.match(explanation, /leaves the value "2"/, 'says what the get should have seen')
  })

  const table: Array<[string, Operation[], string]> = [
    ['a read of a value never written', [put('x', '1', 0, 1), get('x', 'zzz', 2, 3)], 'x'],
    ['a read of null after a completed put', [put('x', '1', 0, 1), get('x', null, 2, 3)], 'x'],
    ['a read from the future', [get('x', '1', 0, 1), put('x', '1', 2, 3)], 'x'],
    ['two readers disagreeing on the order of two puts', [put('x', 'a', 0, 10), put('x', 'b', 0, 10), get('x', 'a', 11, 12), get('x', 'b', 13, 14)], 'x'],
    ['a value flipping back and forth with one write of each', [put('x', 'a', 0, 1), put('x', 'b', 2, 10), get('x', 'b', 3, 4), get('x', 'a', 5, 6)], 'x'],
    ['a violation on one key among good ones', [put('a', '1', 0, 1), get('a', '1', 2, 3), put('b', '1', 0, 1), put('b', '2', 2, 3), get('b', '1', 4, 5), get('c', null, 0, 1)], 'b'],
    ['a read of a value only a refused put wrote', [{ ...put('x', '1', 0, 1), output: { ok: false } }, get('x', '1', 2, 3)], 'x']
  ]
  for (const [name, history, key] of table) it(name, () => { assertViolation(history, key) })

  it('names the key and the operations that could not be linearized', () => {
    const explanation = assertViolation([put('k', 'a', 0, 10, 1), put('k', 'b', 0, 10, 2), get('k', 'a', 11, 12, 3), get('k', 'b', 13, 14, 4)], 'k')
    assert.match(explanation, /orders 3 of the key's 4 operations/)
    assert.match(explanation, /None of these operations could be linearized next:\n {2}#3 client 4: get → "b"/)
  })

  it('says which operations it left out as irrelevant', () => {
    const history = [put('k', 'a', 0, 1), lost(put('k', 'unseen', 2, 3)), lost(get('k', 'b', 2, 3)), put('k', 'b', 4, 5), get('k', 'a', 6, 7)]
    const explanation = assertViolation(history, 'k')
    assert.match(explanation, /\(2 of its operations cannot matter and were left out/)
    assert.match(explanation, /orders 2 of the remaining 3 operations/)
  })

  it('explains a read of a value nobody wrote directly', () => {
    const explanation = assertViolation([get('x', 'ghost', 0, 1, 7)], 'x')
    assert.match(explanation, /#0 client 7: get → "ghost".*no operation on the key wrote/)
  })

  it('reports the first violating key in sorted order, whatever the history order', () => {
    const bad = (key: string): Operation[] => [put(key, '1', 0, 1), get(key, null, 2, 3)]
    assert.equal((checkKvHistory([...bad('m'), ...bad('c')]) as { key: string }).key, 'c')
  })
})

describe('checkKvHistory: operations of unknown outcome', () => {
  const ok: Array<[string, Operation[]]> = [
    ['a timed-out put that later becomes visible', [put('x', '1', 0, 1), lost(put('x', '2', 2, 3)), get('x', '1', 4, 5), get('x', '2', 50, 51)]],
    ['a timed-out put that is never visible', [put('x', '1', 0, 1), lost(put('x', '2', 2, 3)), get('x', '1', 4, 5), get('x', '1', 50, 51)]],
    ['a timed-out put that takes effect long after its return', [lost(put('x', '1', 0, 1)), get('x', null, 10, 11), get('x', '1', 20, 21)]],
    ['a timed-out put whose effect only a failed cas can explain', [put('x', '1', 0, 1), lost(put('x', '2', 2, 3)), cas('x', '1', '3', false, 5, 6)]],
    ['a timed-out cas that swapped', [put('x', '1', 0, 1), lost(cas('x', '1', '2', true, 2, 3)), get('x', '2', 4, 5)]],
    ['a timed-out cas that did not', [put('x', '1', 0, 1), lost(cas('x', '1', '2', true, 2, 3)), get('x', '1', 4, 5)]],
    ['a timed-out get, which constrains nothing', [put('x', '1', 0, 1), lost(get('x', 'nonsense', 2, 3))]],
    ['many timed-out puts nobody read', Array.from({ length: 200 }, (_, i) => lost(put('x', `v${i}`, i, i + 1))).concat([get('x', null, 0, 300)])]
  ]
  for (const [name, history] of ok) it(`accepts ${name}`, () => assertOk(history))

  const bad: Array<[string, Operation[]]> = [
    ['a timed-out put that becomes visible and then disappears', [put('x', '1', 0, 1), lost(put('x', '2', 2, 3)), get('x', '2', 4, 5), get('x', '1', 6, 7)]],
    ['a timed-out put visible before it was called', [get('x', '2', 0, 1), lost(put('x', '2', 2, 3))]],
    ['a timed-out cas whose swap is seen although its condition never held', [put('x', '1', 0, 1), lost(cas('x', '0', '2', true, 2, 3)), get('x', '2', 4, 5)]]
  ]
  for (const [name, history] of bad) it(`rejects ${name}`, () => { assertViolation(history, 'x') })
})

describe('checkKvHistory: cas', () => {
  const table: Array<[string, Operation[], boolean]> = [
    ['swaps when the value matches', [put('x', '1', 0, 1), cas('x', '1', '2', true, 2, 3), get('x', '2', 4, 5)], true],
    ['fails when the value differs, and changes nothing', [put('x', '1', 0, 1), cas('x', '0', '2', false, 2, 3), get('x', '1', 4, 5)], true],
    ['from null creates the key', [cas('x', null, '1', true, 0, 1), get('x', '1', 2, 3)], true],
    ['from null fails once the key exists', [put('x', '1', 0, 1), cas('x', null, '2', false, 2, 3)], true],
    ['claims a swap although the value differed', [put('x', '1', 0, 1), cas('x', '0', '2', true, 2, 3)], false],
    ['claims a failure although the value matched', [put('x', '1', 0, 1), cas('x', '1', '2', false, 2, 3)], false],
    ['a failed cas does not write', [put('x', '1', 0, 1), cas('x', '0', '2', false, 2, 3), get('x', '2', 4, 5)], false],
    ['two concurrent cas from the same value: only one wins', [put('x', '0', 0, 1), cas('x', '0', 'a', true, 2, 5), cas('x', '0', 'b', true, 2, 5)], false],
    ['two concurrent cas from the same value: the loser fails', [put('x', '0', 0, 1), cas('x', '0', 'a', true, 2, 5), cas('x', '0', 'b', false, 2, 5), get('x', 'a', 6, 7)], true],
    ['a cas concurrent with a put may see either value', [put('x', '0', 0, 1), put('x', '1', 2, 9), cas('x', '0', '2', true, 3, 4), get('x', '1', 10, 11)], true]
  ]
  for (const [name, history, linearizable] of table) {
    it(name, () => { if (linearizable) assertOk(history); else assertViolation(history, 'x') })
  }
})

describe('checkKvHistory: budget and malformed input', () => {
  const sequential = Array.from({ length: 20 }, (_, i) => put('x', `${i}`, 2 * i, 2 * i + 1))

  it('says the check was inconclusive when it runs out of steps', () => {
    const result = checkKvHistory(sequential, { maxSteps: 5 })
    assert.equal(result.ok, false)
    if (result.ok) return
    assert.equal(result.key, 'x')
    assert.match(result.explanation, /^inconclusive: .*key "x".*5 steps/)
    assert.deepEqual(checkKvHistory(sequential, { maxSteps: 40 }), { ok: true }, 'the same history passes with enough steps')
    assert.ok(DEFAULT_MAX_STEPS >= 100_000)
  })

  it('reports a proven violation before an inconclusive key', () => {
    const result = checkKvHistory([...sequential, get('z', 'ghost', 0, 1)], { maxSteps: 5 })
    assert.equal(result.ok, false)
    if (result.ok) return
    assert.equal(result.key, 'z', 'although "x" sorts first and ran out of steps')
    assert.doesNotMatch(result.explanation, /inconclusive/)
  })

  const malformed: Array<[string, Operation, RegExp]> = [
    ['a return before the call', put('x', '1', 5, 5), /operation #0: call \(5\) must come before return \(5\)/],
    ['a time that is not a number', put('x', '1', Number.NaN, 5), /call must be a finite number/],
    ['a get answered like a put', { ...get('x', '1', 0, 1), output: { ok: true } }, /a get's output must be/],
    ['an unknown kind', { ...get('x', '1', 0, 1), input: { kind: 'del', key: 'x' } as unknown as KvInput }, /input.kind must be get, put or cas/]
  ]
  for (const [name, op, message] of malformed) {
    it(`throws InvalidConfigError for ${name}`, () => {
      assert.throws(() => checkKvHistory([op]), (err: unknown) => err instanceof InvalidConfigError && message.test(err.message))
    })
  }

  it('accepts any return time for an operation of unknown outcome', () => {
    assertOk([lost(put('x', '1', 5, 0)), { ...lost(put('x', '2', 6, 0)), return: Number.NaN }])
  })
})

// ---------------------------------------------------------------------------
// Randomized histories from a simulated linearizable register


interface SimOptions {
  readonly ops: number
  readonly clients: number
  readonly keys: number
  /** Probability that an operation's outcome is lost (half of lost writes still take effect). */
  readonly lostRate: number
  /** Values puts and cas write: unique ones, or drawn from a small set to exercise repeats. */
  readonly values: 'unique' | readonly string[]
}

interface Planned {
  readonly client: number
  readonly input: KvInput
  readonly call: number
  readonly return: number
  readonly lost: boolean
  /** When it takes effect, or undefined if it never does (only lost operations). */
  readonly at: number | undefined
}

/**
 * A history of `clients` sequential clients against one correct register per
 * key: each operation takes effect at a random instant in its interval (lost
 * writes possibly long after), outputs are computed by applying them in that
 * order, so the history is linearizable by construction.
 */
function simulate (seed: number, o: SimOptions): Operation[] {
  const rng = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
  const free = new Array<number>(o.clients).fill(0)
  const lastWritten = new Map<string, string | null>()
  const planned: Planned[] = []
  for (let n = 0; n < o.ops; n++) {
    const client = Math.floor(rng() * o.clients)
    const call = free[client]! + Math.floor(rng() * 3)
    const ret = call + 1 + Math.floor(rng() * 8)
    free[client] = ret + 1
    const key = `k${Math.floor(rng() * o.keys)}`
    const value = o.values === 'unique' ? `c${client}-${n}` : pick(o.values)
    const r = rng()
    const input: KvInput = r < 0.5
      ? { kind: 'get', key }
      : r < 0.85 ? { kind: 'put', key, value } : { kind: 'cas', key, expected: rng() < 0.7 ? (lastWritten.get(key) ?? null) : null, value }
    if (input.kind !== 'get') lastWritten.set(key, value)
    const isLost = rng() < o.lostRate
    const at = !isLost ? call + rng() * (ret - call) : rng() < 0.5 ? undefined : call + rng() * 3 * (ret - call)
    planned.push({ client, input, call, return: ret, lost: isLost, at })
  }
  const outputs = applyInOrder(planned)
  return planned.map((p, i) => ({ client: p.client, input: p.input, call: p.call, return: p.return, output: p.lost ? undefined : outputs[i] }))
}

/** The outputs a single correct register gives when the operations take effect at their `at`. */
function applyInOrder (planned: readonly Planned[]): Array<KvOutput | undefined> {
  const state = new Map<string, string | null>()
  const outputs = new Array<KvOutput | undefined>(planned.length)
  const order = planned.map((_, i) => i).filter(i => planned[i]!.at !== undefined).sort((a, b) => planned[a]!.at! - planned[b]!.at!)
  for (const i of order) {
    const { input } = planned[i]!
    const cur = state.get(input.key) ?? null
    if (input.kind === 'get') outputs[i] = { value: cur }
    else if (input.kind === 'put') { state.set(input.key, input.value); outputs[i] = { ok: true } }
    else if (cur === input.expected) { state.set(input.key, input.value); outputs[i] = { ok: true } } else outputs[i] = { ok: false }
  }
  return outputs
}

/** Whether a known operation wrote its value. */
function wrote (op: Operation): boolean {
  return op.input.kind !== 'get' && op.output !== undefined && 'ok' in op.output && op.output.ok
}

/**
 * Make one read stale for certain: a known get G that, with unique values,
 * now returns the value of a write W1 although another write W2 completed
 * after W1 and before G was invoked. Returns the corrupted history and G's key.
 */
function corruptOneRead (history: readonly Operation[]): { history: Operation[], key: string } {
  for (let g = history.length - 1; g >= 0; g--) {
    const read = history[g]!
    if (read.input.kind !== 'get' || read.output === undefined) continue
    const writes = history.filter(op => op.input.key === read.input.key && wrote(op) && op.return < read.call)
    for (const w1 of writes) {
      if (!writes.some(w2 => w1.return < w2.call)) continue
      const value = (w1.input as { value: string }).value
      const corrupted = history.map((op, i) => i === g ? { ...op, output: { value } } : op)
      return { history: corrupted, key: read.input.key }
    }
  }
  throw new Error('no read to corrupt: make the history longer')
}

describe('checkKvHistory: randomized histories', () => {
  const big: SimOptions = { ops: 2000, clients: 5, keys: 10, lostRate: 0.05, values: 'unique' }

  it('passes histories of a correct register (20 seeds), and fails each with one read made stale', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const history = simulate(seed, { ...big, ops: 300, keys: 3 })
      assert.deepEqual(checkKvHistory(history), { ok: true }, `seed ${seed}`)
      const { history: corrupted, key } = corruptOneRead(history)
      const result = checkKvHistory(corrupted)
      assert.equal(result.ok, false, `seed ${seed} corrupted`)
      if (!result.ok) {
        assert.equal(result.key, key, `seed ${seed}`)
        assert.doesNotMatch(result.explanation, /inconclusive/, `seed ${seed}`)
      }
    }
  })

  it('checks 2,000 operations of 5 clients over 10 keys well within 2 s, corrupted or not', (t) => {
    const history = simulate(42, big)
    assert.ok(history.filter(op => op.output === undefined).length > 50, 'the history has lost operations')
    const started = performance.now()
    const result = checkKvHistory(history)
    const passMs = performance.now() - started
    assert.deepEqual(result, { ok: true })
    const { history: corrupted, key } = corruptOneRead(history)
    const started2 = performance.now()
    const failed = checkKvHistory(corrupted)
    const failMs = performance.now() - started2
    assert.equal(failed.ok, false)
    assert.equal((failed as { key: string }).key, key)
    t.diagnostic(`linearizable: ${passMs.toFixed(1)} ms; with a stale read: ${failMs.toFixed(1)} ms`)
    assert.ok(passMs < 2000, `took ${passMs} ms`)
    assert.ok(failMs < 2000, `took ${failMs} ms`)
  })

  it('checks 3,000 operations of 5 clients on a single key within 2 s', (t) => {
    const history = simulate(7, { ...big, ops: 3000, keys: 1 })
    const started = performance.now()
    assert.deepEqual(checkKvHistory(history), { ok: true })
    const ms = performance.now() - started
    t.diagnostic(`${ms.toFixed(1)} ms`)
    assert.ok(ms < 2000, `took ${ms} ms`)
  })
})

// ---------------------------------------------------------------------------
// Cross-check against a brute-force checker on small histories

/**
 * Linearizability by exhaustive search, written as plainly as possible and
 * sharing nothing with the checker: try every operation that no pending
 * known operation must precede, in every order; an operation of unknown
 * outcome may also be dropped. Single key; fine up to ~8 operations.
 */
function bruteForce (history: readonly Operation[]): boolean {
  const ops = history.filter(op => !(op.output === undefined && op.input.kind === 'get'))
  const mustPrecede = (a: Operation, b: Operation): boolean => a.output !== undefined && a.return < b.call
  const search = (left: readonly Operation[], state: string | null): boolean => {
    if (left.every(op => op.output === undefined)) return true
    return left.some((op, i) => {
      if (left.some(other => other !== op && mustPrecede(other, op))) return false
      const rest = left.filter((_, j) => j !== i)
      if (op.output === undefined && search(rest, state)) return true
      const after = applyPlainly(op, state)
      return after !== 'impossible' && search(rest, after)
    })
  }
  return search(ops, null)
}

/** The register after `op`, or 'impossible' if its output cannot be produced from `state`. */
function applyPlainly ({ input, output }: Operation, state: string | null): string | null | 'impossible' {
  const ok = output !== undefined && 'ok' in output ? output.ok : undefined
  switch (input.kind) {
    case 'get': return output !== undefined && 'value' in output && output.value === state ? state : 'impossible'
    case 'put': return ok === false ? state : input.value
    case 'cas':
      if (output === undefined) return state === input.expected ? input.value : 'impossible'
      return (state === input.expected) === ok ? (ok ? input.value : state) : 'impossible'
  }
}

/** Change one operation's output (or lose it) at random, which may or may not break linearizability. */
function mutate (history: readonly Operation[], rng: () => number): Operation[] {
  const i = Math.floor(rng() * history.length)
  const op = history[i]!
  const values = [null, ...history.flatMap(o => o.input.kind === 'get' ? [] : [o.input.value])]
  const output: KvOutput | undefined = rng() < 0.2
    ? undefined
    : op.input.kind === 'get' ? { value: values[Math.floor(rng() * values.length)]! } : { ok: rng() < 0.5 }
  return history.map((o, j) => j === i ? { ...o, output } : o)
}

describe('checkKvHistory: agrees with a brute-force checker', () => {
  it('on 1,500 small random histories, linearizable and not, with repeated and unique values', (t) => {
    const rng = seededRandom(2024)
    let linearizable = 0
    for (let seed = 0; seed < 1500; seed++) {
      const n = 3 + (seed % 6)
      const values = seed % 2 === 0 ? ['a', 'b', 'c'] : 'unique'
      const base = simulate(seed, { ops: n, clients: 3, keys: 1, lostRate: 0.25, values })
      const history = rng() < 0.3 ? base : mutate(mutate(base, rng), rng)
      const expected = bruteForce(history)
      const result = checkKvHistory(history)
      assert.equal(result.ok, expected, `seed ${seed}: ${JSON.stringify(history)}`)
      if (expected) linearizable++
    }
    t.diagnostic(`${linearizable} of 1,500 linearizable`)
    assert.ok(linearizable > 200 && 1500 - linearizable > 200, `a mix of both verdicts (${linearizable} linearizable)`)
  })
})
