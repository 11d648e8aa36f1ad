import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execPath, FrameReader } from './exec.ts'

describe('exec protocol', () => {
  it('puts each command word in its own command parameter', () => {
    assert.equal(execPath('default', 'web', ['sh', '-c', 'echo a&b'], 'c1', true),
      '/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo+a%26b&container=c1&stdin=true')
  })

  it('reads frames split across chunks, ignoring unknown ones', () => {
    const r = new FrameReader()
    const out = Buffer.from('héllo\n').toString('base64')
    const text = `{"stream":"stdout","data":"${out}"}\n{"what":1}\n{"stream":"stderr","data":""}\n{"exit":3}\n`
    const frames = [...r.push(text.slice(0, 17)), ...r.push(text.slice(17))]
    assert.deepEqual(frames, [{ stream: 'stdout', data: out }, { stream: 'stderr', data: '' }, { exit: 3 }])
    assert.deepEqual(r.push('{"error":"boom"}\n'), [{ error: 'boom' }])
    assert.throws(() => r.push('not json\n'), /not JSON/)
  })
})
