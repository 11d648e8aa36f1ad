import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatAge, formatTable, tableWriter, tabwrite } from './format.ts'

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

describe('tabwrite (Go text/tabwriter as kubectl describe uses it)', () => {
  it('aligns consecutive lines and pads with two spaces', () => {
    assert.equal(tabwrite('Name:\tweb\nNamespace:\tdefault\n'), 'Name:       web\nNamespace:  default\n')
  })
  it('a line without a tab ends the column block, and indentation counts in the cell', () => {
    const text = 'Name:\tx\nContainers:\n  c:\n    Image:\tbusybox\n    Host Port:\t<none>\nVolumes:\t<none>\nEvents:\n  Type\tReason\n  ----\t------\n'
    assert.equal(tabwrite(text), [
      'Name:  x', 'Containers:', '  c:', '    Image:      busybox', '    Host Port:  <none>', 'Volumes:        <none>', 'Events:', '  Type  Reason', '  ----  ------', ''
    ].join('\n'))
  })
  it('empty cells pad too, and the text after the last tab never does', () => {
    assert.equal(tabwrite('Labels:\ta=1\n\tb=2\nPort:\t<unset>\t80/TCP\n'), 'Labels:  a=1\n         b=2\nPort:    <unset>  80/TCP\n')
  })
  it('nested blocks: a deeper column is sized only over consecutive lines that have it', () => {
    assert.equal(tabwrite('a\tbb\tc\naaa\tb\nx\ty\tzzz\tw\n'), 'a    bb  c\naaa  b\nx    y  zzz  w\n')
  })
})

describe('tableWriter (kubectl get, and get -w)', () => {
  it('columns are three spaces apart and at least six wide; the last is not padded', () => {
    const write = tableWriter()
    assert.equal(write([['NAME', 'IP', 'AGE'], ['web', '', '5s']]), 'NAME   IP    AGE\nweb          5s\n')
  })
  it('remembers widths: a later, longer row widens its column but a shorter one keeps the header\'s', () => {
    const write = tableWriter()
    assert.equal(write([['NAME', 'DATA', 'AGE'], ['cfg', '1', '55s']]), 'NAME   DATA   AGE\ncfg    1      55s\n')
    assert.equal(write([['a-long-name', '1', '0s']]), 'a-long-name   1      0s\n')
    assert.equal(write([['x', '0', '0s']]), 'x             0      0s\n')
  })
})

describe('tableWriter seed', () => {
  it('sizes a column ahead of its cells', () => {
    assert.equal(tableWriter(['MODIFIED'])([['EVENT', 'NAME'], ['ADDED', 'x']]), 'EVENT      NAME\nADDED      x\n')
  })
})
