import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { fastMessageId } from './mesh.ts'

describe('gossipsub\'s fast message id', () => {
  const msg = { from: new Uint8Array([1, 2, 3]), seqno: new Uint8Array([0, 0, 7]), topic: 'shoal/members/1', data: new TextEncoder().encode('{"type":"alive"}') }

  it('is the same for every copy of a message, whatever its signature', () => {
    assert.equal(fastMessageId({ ...msg, signature: new Uint8Array([9]) } as typeof msg), fastMessageId({ ...msg, signature: new Uint8Array([8]) } as typeof msg))
  })

  it('differs when the author, the sequence number, the topic or the data does', () => {
    const ids = new Set([
      fastMessageId(msg),
      fastMessageId({ ...msg, from: new Uint8Array([1, 2, 4]) }),
      fastMessageId({ ...msg, seqno: new Uint8Array([0, 0, 8]) }),
      fastMessageId({ ...msg, topic: 'shoal/pod-status/1' }),
      fastMessageId({ ...msg, data: new TextEncoder().encode('{"type":"leave"}') }),
      // Where one field ends and the next begins counts too.
      fastMessageId({ ...msg, from: new Uint8Array([1, 2]), seqno: new Uint8Array([3, 0, 0, 7]) })
    ])
    assert.equal(ids.size, 6)
  })
})
