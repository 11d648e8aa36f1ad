import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { freeCiphers, SLICE, sliceXSalsa20Updates } from './xsalsa20-slices.ts'

const run = promisify(execFile)

/**
 * A connection's two ciphers taking turns at 1 MiB buffers (100 MiB each
 * way), as pnet gives them a connection's queued writes while an image
 * streams: prints "survived" when neither throws.
 */
const WORKLOAD = (patched: boolean): string => {
  const load = patched
    ? `const { sliceXSalsa20Updates } = await import(${JSON.stringify(new URL('./xsalsa20-slices.ts', import.meta.url).href)}); const xsalsa20 = sliceXSalsa20Updates();`
    : `const { createRequire } = await import('node:module'); const r = createRequire(${JSON.stringify(import.meta.url)}); const xsalsa20 = createRequire(r.resolve('@libp2p/pnet'))('xsalsa20');`
  return `${load}
    const big = new Uint8Array(1024 * 1024)
    const inbound = xsalsa20(new Uint8Array(24).fill(1), new Uint8Array(32))
    const outbound = xsalsa20(new Uint8Array(24).fill(2), new Uint8Array(32))
    for (let i = 0; i < 100; i++) { inbound.update(big); outbound.update(big) }
    console.log('survived')`
}

describe('xsalsa20 under @libp2p/pnet, in slices', () => {
  it('unsliced, big buffers through a connection\'s two ciphers exhaust the shared WebAssembly memory; sliced, they do not', async () => {
    const unsliced = await run(process.execPath, ['--input-type=module', '-e', WORKLOAD(false)]).then(r => r.stdout, (err: { stderr: string }) => err.stderr)
    assert.match(unsliced, /Maximum memory size exceeded/, 'the library bug this works around (if it is fixed upstream, drop the workaround)')
    const sliced = await run(process.execPath, ['--input-type=module', '-e', WORKLOAD(true)])
    assert.equal(sliced.stdout.trim(), 'survived')
  })

  it('a closed connection\'s ciphers are freed: 20,000 connections\' worth fit in the memory', () => {
    const xsalsa20 = sliceXSalsa20Updates()
    for (let i = 0; i < 10_000; i++) {
      const boxed = { inboundXor: xsalsa20(new Uint8Array(24), new Uint8Array(32)), outboundXor: xsalsa20(new Uint8Array(24), new Uint8Array(32)) }
      boxed.inboundXor.update(new Uint8Array(100))
      freeCiphers(boxed)
      freeCiphers(boxed) // twice is fine
    }
    assert.equal(xsalsa20(new Uint8Array(24), new Uint8Array(32)).update(new Uint8Array(10)).length, 10)
  })

  it('gives the same bytes as feeding the cipher piece by piece, and decrypts back', () => {
    const xsalsa20 = sliceXSalsa20Updates()
    assert.equal(sliceXSalsa20Updates(), xsalsa20, 'installed once')
    const nonce = randomBytes(24)
    const key = randomBytes(32)
    const plain = randomBytes(5 * SLICE + 123)
    const whole = xsalsa20(nonce, key).update(plain)
    const reference = xsalsa20(nonce, key)
    // Odd piece sizes, all below SLICE: the original code path, call by call.
    const pieces: Uint8Array[] = []
    for (let at = 0; at < plain.length; at += 1000) pieces.push(reference.update(plain.subarray(at, Math.min(at + 1000, plain.length))))
    assert.deepEqual(Buffer.from(whole), Buffer.concat(pieces))
    assert.notDeepEqual(Buffer.from(whole), plain)
    assert.deepEqual(Buffer.from(xsalsa20(nonce, key).update(whole)), plain)
    const into = new Uint8Array(plain.length)
    assert.equal(xsalsa20(nonce, key).update(plain, into), into, 'writes into the output given')
    assert.deepEqual(Buffer.from(into), Buffer.from(whole))
  })
})
