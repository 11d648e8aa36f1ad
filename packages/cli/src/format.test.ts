import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatAge, formatTable } from './format.ts'

describe('formatAge', () => {
  for (const [ms, text] of [[0, '0s'], [999, '0s'], [45_000, '45s'], [119_000, '119s'], [192_000, '3m12s'], [30 * 60_000, '30m'], [5 * 3_600_000, '5h'], [3 * 86_400_000, '3d'], [-5, '0s']] as const) {
    it(`${ms} ms → ${text}`, () => assert.equal(formatAge(ms), text))
  }
})

describe('formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    assert.equal(formatTable(['NAME', 'STATE'], [['node-1', 'alive'], ['n2', 'dead']]), 'NAME     STATE\nnode-1   alive\nn2       dead\n')
  })
})
