import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { clusterFromSecret, decodeToken, encodeToken, meshKey, newCluster } from './token.ts'
import { MalformedTokenError } from '../errors.ts'

describe('join tokens', () => {
  it('round-trip the cluster secret and id', () => {
    const c = newCluster()
    const back = decodeToken(encodeToken(c))
    assert.equal(back.id, c.id)
    assert.deepEqual(back.secret, c.secret)
    assert.match(c.id, /^[0-9a-f]{16}$/)
  })

  it('derive everything from the secret alone', () => {
    const c = clusterFromSecret(new Uint8Array(32).fill(7))
    assert.equal(clusterFromSecret(new Uint8Array(32).fill(7)).id, c.id)
    assert.notEqual(clusterFromSecret(new Uint8Array(32).fill(8)).id, c.id)
    assert.equal(meshKey(c).length, 32)
    assert.deepEqual(meshKey(clusterFromSecret(new Uint8Array(32).fill(7))), meshKey(c))
    assert.notDeepEqual(meshKey(clusterFromSecret(new Uint8Array(32).fill(8))), meshKey(c))
  })

  const good = encodeToken(clusterFromSecret(new Uint8Array(32).fill(1)))
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const cases: Array<[string, string]> = [
    ['', 'it must start with shoal1_'],
    ['k8s_abc', 'it must start with shoal1_'],
    ['shoal1_abc def', 'it contains characters a token never has'],
    [good.slice(0, -1), 'it has the wrong length'],
    [flip(good, 10), 'its checksum does not match']
  ]
  for (const [token, detail] of cases) {
    it(`rejects ${JSON.stringify(token.slice(0, 16))}…: ${detail}`, () => {
      assert.throws(() => decodeToken(token), (err: unknown) => err instanceof MalformedTokenError && err.message.includes(detail))
    })
  }

  it('tolerates surrounding white space, as pasted from a terminal', () => {
    assert.equal(decodeToken(`  ${good}\n`).id, decodeToken(good).id)
  })
})
