import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { WorkQueue } from './work-queue.ts'

describe('WorkQueue', () => {
  it('a key waits once however often it is added, in the order first added', async () => {
    const q = new WorkQueue()
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k)
    assert.equal(q.counters().depth, 3)
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c'])
  })

  it('a key being processed is not handed out again; added meanwhile, it comes back once done', async () => {
    const q = new WorkQueue()
    q.add('a')
    const key = await q.get()
    q.add('a')
    q.add('a')
    assert.equal(q.counters().depth, 0, 'not while it is processed')
    let next: string | undefined
    void q.get().then(k => { next = k })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(next, undefined)
    q.done(key!)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(next, 'a')
    q.done('a')
    assert.equal(q.counters().depth, 0, 'once, not twice')
  })

  it('a failed key comes back after a delay that doubles per failure, up to the cap, and starts over once forgotten', async () => {
    const q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 80 })
    const delays: number[] = []
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now()
      q.addRateLimited('k')
      const key = await q.get()
      delays.push(performance.now() - t0)
      q.done(key!)
    }
    assert.equal(q.failures('k'), 4)
    assert.equal(q.counters().retries, 4)
    // 20, 40, 80, 80 (capped): timers fire no earlier than asked.
    for (const [i, want] of [20, 40, 80, 80].entries()) assert.ok(delays[i]! >= want - 2, `retry ${i + 1} after ${delays[i]!.toFixed(1)} ms, not before ${want}`)
    assert.ok(delays[3]! < 80 * 2 + 50, 'the cap holds')
    q.forget('k')
    assert.equal(q.failures('k'), 0)
  })

  it('shut down: waiting getters get undefined, pending retries are dropped', async () => {
    const q = new WorkQueue({ baseDelayMs: 10 })
    const waiting = q.get()
    q.addRateLimited('x')
    q.shutDown()
    assert.equal(await waiting, undefined)
    assert.equal(await q.get(), undefined)
    q.add('y')
    assert.equal(q.counters().depth, 0)
  })
})
