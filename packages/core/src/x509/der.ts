/**
 * A minimal DER encoder: just the ASN.1 types an X.509 certificate needs.
 * Every function returns the complete tag-length-value bytes.
 */

function length (n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

export function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function tlv (tag: number, content: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(tag), length(content.length), content])
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(0x30, concat(items))
export const set = (...items: Uint8Array[]): Uint8Array => tlv(0x31, concat(items))
/** `[n] EXPLICIT`: a constructed context tag around a whole encoding. */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner)
/** `[n] IMPLICIT` of a primitive type: the context tag replaces the type's own. */
export const implicit = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content)
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes)
export const utf8String = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s))
export const boolean = (v: boolean): Uint8Array => tlv(0x01, Uint8Array.of(v ? 0xff : 0))

/** A non-negative INTEGER from its big-endian magnitude (a 0 is prepended when the top bit is set). */
export function unsignedInteger (magnitude: Uint8Array): Uint8Array {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const m = magnitude.subarray(start)
  return tlv(0x02, (m[0] ?? 0) >= 0x80 ? concat([Uint8Array.of(0), m]) : m.length === 0 ? Uint8Array.of(0) : m)
}

export const smallInteger = (n: number): Uint8Array => unsignedInteger(Uint8Array.of(n))

/** A BIT STRING of whole bytes (keys, signatures). */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(0x03, concat([Uint8Array.of(0), bytes]))

/** A named-bit BIT STRING (KeyUsage): bit 0 is the top bit of the first byte; trailing zero bits are dropped, as DER requires. */
export function namedBits (bits: readonly number[]): Uint8Array {
  const top = Math.max(...bits)
  const bytes = new Uint8Array(Math.floor(top / 8) + 1)
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> (b % 8)
  const unused = 7 - (top % 8)
  return tlv(0x03, concat([Uint8Array.of(unused), bytes]))
}

export function oid (dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number)
  const out: number[] = [parts[0]! * 40 + parts[1]!]
  for (const p of parts.slice(2)) {
    const base128: number[] = []
    for (let v = p; ; v = Math.floor(v / 128)) {
      base128.unshift((v % 128) | (base128.length > 0 ? 0x80 : 0))
      if (v < 128) break
    }
    out.push(...base128)
  }
  return tlv(0x06, Uint8Array.from(out))
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0')

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050, always in seconds and Z. */
export function time (d: Date): Uint8Array {
  const y = d.getUTCFullYear()
  const rest = pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + 'Z'
  const enc = new TextEncoder()
  return y < 2050 ? tlv(0x17, enc.encode(pad(y % 100, 2) + rest)) : tlv(0x18, enc.encode(pad(y, 4) + rest))
}
