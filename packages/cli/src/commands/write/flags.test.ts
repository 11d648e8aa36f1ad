import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { boolFlag, countFlag, durationFlag, listFlag, portFlag, targetPortFlag, textFlag, validateFlag } from './flags.ts'

describe('write command flags', () => {
  it('validateFlag reads kubectl\'s --validate values, Strict by default', () => {
    assert.equal(validateFlag(undefined), 'Strict')
    assert.equal(validateFlag(true), 'Strict')
    assert.equal(validateFlag('strict'), 'Strict')
    assert.equal(validateFlag('Warn'), 'Warn')
    assert.equal(validateFlag('false'), 'Ignore')
    assert.equal(validateFlag(false), 'Ignore')
    assert.equal(validateFlag(['warn', 'ignore']), 'Ignore')
    assert.throws(() => validateFlag('loose'), { message: 'invalid - validate option "loose"; must be one of: strict (or true), warn, ignore (or false)' })
  })

  it('countFlag takes whole numbers >= 0 and names the flag otherwise', () => {
    assert.equal(countFlag(3, '--replicas'), 3)
    assert.equal(countFlag('0', '--replicas'), 0)
    assert.equal(countFlag(undefined, '--replicas'), undefined)
    assert.throws(() => countFlag(-1, '--replicas'), /invalid argument "-1" for "--replicas" flag: must be greater than or equal to 0/)
    assert.throws(() => countFlag('x', '--replicas'), /invalid argument "x" for "--replicas" flag: must be a whole number/)
    assert.throws(() => countFlag(1.5, '--replicas'), /"1\.5" for "--replicas"/)
    assert.throws(() => countFlag(true, '--replicas'), /flag needs an argument: --replicas/)
  })

  it('portFlag takes 1-65535; targetPortFlag also a port name', () => {
    assert.equal(portFlag('8080', '--port'), 8080)
    for (const bad of [0, 65536, 'http', '-3']) assert.throws(() => portFlag(bad, '--port'), /for "--port" flag: must be a port number between 1 and 65535/)
    assert.equal(targetPortFlag(80, '--target-port'), 80)
    assert.equal(targetPortFlag('http', '--target-port'), 'http')
    assert.throws(() => targetPortFlag('Not_A_Name', '--target-port'), /"--target-port" flag/)
  })

  it('durationFlag reads Go durations as milliseconds', () => {
    for (const [text, ms] of [['30s', 30_000], ['2m', 120_000], ['1h30m', 5_400_000], ['500ms', 500], ['1.5s', 1500], ['0', 0]] as const) assert.equal(durationFlag(text, '--timeout'), ms)
    for (const bad of ['30', 'soon', '5x', '1m ']) assert.throws(() => durationFlag(bad, '--timeout'), /for "--timeout" flag: must be a duration/)
  })

  it('boolFlag, textFlag and listFlag read what cac hands over', () => {
    assert.equal(boolFlag(undefined, '--watch', true), true)
    assert.equal(boolFlag(false, '--watch', true), false)
    assert.equal(boolFlag('false', '--watch', true), false)
    assert.throws(() => boolFlag('maybe', '--watch', true), /"--watch" flag: must be true or false/)
    assert.equal(textFlag(42, '--name'), '42')
    assert.throws(() => textFlag(['a', 'b'], '--name'), /--name may be given only once/)
    assert.deepEqual(listFlag(['a.yaml', 'b.yaml'], '-f'), ['a.yaml', 'b.yaml'])
    assert.deepEqual(listFlag('a.yaml', '-f'), ['a.yaml'])
    assert.deepEqual(listFlag(undefined, '-f'), [])
  })
})
