import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { joinStdinFilename } from './write.ts'

describe('-f - (stdin)', () => {
  it('is joined into --filename=- for the manifest commands, before -- only', () => {
    const argv = ['node', 'shoal', 'apply', '-n', 'x', '-f', '-', '--filename', '-']
    joinStdinFilename(argv)
    assert.deepEqual(argv, ['node', 'shoal', 'apply', '-n', 'x', '--filename=-', '--filename=-'])
    const other = ['node', 'shoal', 'logs', '-f', '-']
    joinStdinFilename(other)
    assert.deepEqual(other, ['node', 'shoal', 'logs', '-f', '-'])
    const exec = ['node', 'shoal', 'delete', 'x', '--', '-f', '-']
    joinStdinFilename(exec)
    assert.deepEqual(exec, ['node', 'shoal', 'delete', 'x', '--', '-f', '-'])
  })
})
