import { createRequire } from 'node:module'

/**
 * A fix for the cipher under @libp2p/pnet (the cluster key's encryption of
 * every mesh connection): xsalsa20 1.2's WebAssembly build copies each
 * input into one shared WebAssembly memory and grows that memory when the
 * input does not fit, but each cipher measures "fits" against its own view
 * of the memory, and a view goes empty (detached) whenever another cipher
 * grows the memory. A connection's two ciphers (in and out) taking turns at
 * big inputs thus grow the memory by a whole input each time, however large
 * it already is, until its 62 MB limit: then `update` throws inside a
 * socket's event handler and the agent dies (RangeError:
 * WebAssembly.Memory.grow(): Maximum memory size exceeded). Big inputs are
 * common: pnet encrypts everything queued on a connection as one buffer,
 * which is megabytes while an image or a log streams.
 *
 * The fix: `update` takes an input in slices of at most SLICE bytes, so
 * the memory never needs to be bigger than the ciphers' own state plus one
 * slice; and before each slice a cipher whose view went empty gets a fresh
 * one (from a cipher made and freed for the purpose: the module keeps the
 * memory to itself), so it grows the memory only when the memory is really
 * too small, and by what is missing. The keystream continues across slices
 * exactly as across calls (the cipher keeps its position), so the bytes are
 * the same.
 *
 * And pnet never frees a connection's ciphers: their state, 64 bytes each,
 * stays in that memory, and after some 5,000 connections the next cipher
 * does not fit (RangeError: offset is out of bounds, in its constructor).
 * `freeCiphers` frees them when the connection closes (cluster-key.ts).
 */

/** Bytes per call into the WebAssembly cipher: well within its initial memory. */
export const SLICE = 64 * 1024

interface Cipher {
  update: (input: Uint8Array, output?: Uint8Array) => Uint8Array
  finalize: () => void
  /** The module's inner cipher: with WebAssembly, its view of the shared memory. */
  _xor: { _memory?: Uint8Array } | null
}
type XSalsa20 = ((nonce: Uint8Array, key: Uint8Array) => Cipher) & { prototype: Cipher, __shoalSliced?: true }

const require = createRequire(import.meta.url)

/** Install the fix on the xsalsa20 that @libp2p/pnet loads (once; later calls do nothing). Returns the module. */
export function sliceXSalsa20Updates (): XSalsa20 {
  // The copy pnet resolves: node's module cache makes it the same object.
  const pnet = require.resolve('@libp2p/pnet')
  const xsalsa20 = createRequire(pnet)('xsalsa20') as XSalsa20
  if (xsalsa20.__shoalSliced === true) return xsalsa20
  const whole = xsalsa20.prototype.update
  const nonce = new Uint8Array(24)
  const key = new Uint8Array(32)
  /** A current view of the shared memory, for a cipher whose own went empty when the memory grew. */
  const refresh = (c: Cipher): void => {
    const inner = c._xor
    if (inner?._memory === undefined || inner._memory.byteLength > 0) return
    const fresh = xsalsa20(nonce, key)
    inner._memory = fresh._xor?._memory
    fresh.finalize()
  }
  xsalsa20.prototype.update = function (this: Cipher, input: Uint8Array, output?: Uint8Array): Uint8Array {
    refresh(this)
    if (input.byteLength <= SLICE) return whole.call(this, input, output)
    const out = output ?? new Uint8Array(input.byteLength)
    for (let at = 0; at < input.byteLength; at += SLICE) {
      const end = Math.min(at + SLICE, input.byteLength)
      if (at > 0) refresh(this)
      whole.call(this, input.subarray(at, end), out.subarray(at, end))
    }
    return out
  }
  xsalsa20.__shoalSliced = true
  return xsalsa20
}

/** Free the two ciphers of a closed pnet connection (its `inboundXor`, `outboundXor`), once. */
export function freeCiphers (boxed: unknown): void {
  for (const field of ['inboundXor', 'outboundXor'] as const) {
    const c = (boxed as Partial<Record<typeof field, Cipher>>)[field]
    if (c?._xor !== null && c?._xor !== undefined) c.finalize()
  }
}
