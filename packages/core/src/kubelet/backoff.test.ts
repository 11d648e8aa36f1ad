import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BACKOFF_DEFAULTS, advanceBackoff, backoffUntil, crashLoopMessage, goDuration, isInBackoff } from './backoff.ts'
import type { BackoffEntry } from './backoff.ts'

describe('crash-loop backoff', () => {
  it('waits 0, then 10 s, doubling to a 300 s ceiling (a container that exits 1 s after each start)', () => {
    let entry: BackoffEntry | undefined
    let now = 0
    const waits: number[] = []
    for (let attempt = 1; attempt <= 9; attempt++) {
      const finished = now + 1000 // ran 1 s
      const until = backoffUntil(entry, finished)
      assert.equal(isInBackoff(entry, finished, until - 1), until > finished, 'in backoff until the delay passed')
      assert.equal(isInBackoff(entry, finished, until), false)
      waits.push((until - finished) / 1000)
      now = until
      entry = advanceBackoff(entry, finished, now, attempt)
    }
    assert.deepEqual(waits, [0, 10, 20, 40, 80, 160, 300, 300, 300])
  })

  it('advancing twice for the same attempt changes nothing', () => {
    const e1 = advanceBackoff(undefined, 0, 0, 1)
    const e2 = advanceBackoff(e1, 5000, 20_000, 2)
    assert.equal(e2.delayMs, 20_000)
    assert.equal(advanceBackoff(e2, 5000, 25_000, 2), e2)
  })

  it('resets once the container ran more than 10 minutes (2 × max) since its last restart', () => {
    const entry: BackoffEntry = { delayMs: 300_000, lastUpdateMs: 0, attempt: 7 }
    const cases: Array<[number, boolean, number]> = [
      // finished at, in backoff right after, next delay
      [600_000, true, 300_000],
      [600_001, false, 10_000],
      [3_600_000, false, 10_000]
    ]
    for (const [finished, inBackoff, next] of cases) {
      assert.equal(isInBackoff(entry, finished, finished + 1), inBackoff, `finished ${finished}`)
      assert.equal(advanceBackoff(entry, finished, finished, 8).delayMs, next, `finished ${finished}`)
    }
  })

  it('honours a custom config', () => {
    const cfg = { initialMs: 1000, maxMs: 4000 }
    let e = advanceBackoff(undefined, 0, 0, 1, cfg)
    const delays = [e.delayMs]
    for (let a = 2; a <= 5; a++) { e = advanceBackoff(e, 0, 0, a, cfg); delays.push(e.delayMs) }
    assert.deepEqual(delays, [1000, 2000, 4000, 4000, 4000])
    assert.deepEqual(BACKOFF_DEFAULTS, { initialMs: 10_000, maxMs: 300_000 })
  })
})

describe('messages', () => {
  const durations: Array<[number, string]> = [[10_000, '10s'], [40_000, '40s'], [80_000, '1m20s'], [160_000, '2m40s'], [300_000, '5m0s'], [3_661_000, '1h1m1s']]
  for (const [ms, s] of durations) it(`${ms} ms prints as ${s}`, () => assert.equal(goDuration(ms), s))
  it('CrashLoopBackOff message, as Kubernetes writes it', () => {
    assert.equal(crashLoopMessage(20_000, 'web', 'web-1_default(uid-1)'), 'back-off 20s restarting failed container=web pod=web-1_default(uid-1)')
  })
})
