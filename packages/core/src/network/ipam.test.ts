import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gatewayOf, nextPodIP, podCapacity, rangeContains } from './ipam.ts'
import { parseCIDR } from './cidr.ts'

describe('pod addresses from a node range', () => {
  const r = parseCIDR('10.244.3.0/24')!

  it('the gateway is the first address; the pods get the rest but the broadcast', () => {
    assert.equal(gatewayOf(r), '10.244.3.1')
    assert.equal(podCapacity(r), 253)
    assert.equal(nextPodIP(r, new Set()), '10.244.3.2')
    assert.ok(rangeContains(r, '10.244.3.255'))
    assert.ok(!rangeContains(r, '10.244.4.0'))
  })

  it('goes round from the last address given, skipping used ones', () => {
    const table: Array<[string[], string | undefined, string | undefined]> = [
      [[], undefined, '10.244.3.2'],
      [[], '10.244.3.2', '10.244.3.3'],
      [['10.244.3.3', '10.244.3.4'], '10.244.3.2', '10.244.3.5'],
      [[], '10.244.3.254', '10.244.3.2'], // wraps, never .255 or .0 or .1
      [['10.244.3.2'], '10.244.3.254', '10.244.3.3'],
      [[], '10.9.9.9', '10.244.3.2'] // a last address outside the range: from the start
    ]
    for (const [used, last, want] of table) assert.equal(nextPodIP(r, new Set(used), last), want, `${used.join(',')} after ${String(last)}`)
  })

  it('an exhausted range has no address to give', () => {
    const small = parseCIDR('10.244.0.0/29')!
    const used = new Set(['10.244.0.2', '10.244.0.3', '10.244.0.4', '10.244.0.5', '10.244.0.6'])
    assert.equal(podCapacity(small), 5)
    assert.equal(nextPodIP(small, used, '10.244.0.4'), undefined)
    used.delete('10.244.0.3')
    assert.equal(nextPodIP(small, used, '10.244.0.4'), '10.244.0.3')
  })
})
