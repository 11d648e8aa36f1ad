import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { coalescing } from './serial.ts'

describe('coalescing', () => {
  it('never overlaps runs, and folds the requests made during a run into one more', async () => {
    let active = 0
    let runs = 0
    let release!: () => void
    const work = async (): Promise<void> => {
      active++
      assert.equal(active, 1, 'one run at a time')
      runs++
      await new Promise<void>(resolve => { release = resolve })
      active--
    }
    const c = coalescing(work, err => { throw err })
    c.request()
    c.request()
    c.request()
    assert.equal(runs, 1)
    release()
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(runs, 2, 'the three requests made one more run')
    release()
    await c.idle()
    assert.equal(runs, 2)
  })

  it('hands a failure to onError and keeps going; runs nothing while closed', async () => {
    const errors: string[] = []
    let open = true
    let runs = 0
    const c = coalescing(async () => { runs++; throw new Error(`run ${runs}`) }, err => { errors.push(err.message) }, () => open)
    c.request()
    await c.idle()
    c.request()
    await c.idle()
    assert.deepEqual(errors, ['run 1', 'run 2'])
    open = false
    c.request()
    await c.idle()
    assert.equal(runs, 2)
  })
})
