import { bitString, boolean, concat, explicit, implicit, namedBits, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.ts'

/**
 * X.509 v3 certificates for the API's TLS, signed with Ed25519: a cluster CA
 * and the serving certificates it signs. Pure: the caller passes the keys'
 * bytes and a signing function, so the same inputs give the same certificate.
 */

export interface CertificateSpec {
  readonly serial: Uint8Array
  readonly subject: string
  readonly issuer: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** The subject's public key, as a DER SubjectPublicKeyInfo. */
  readonly publicKeySpki: Uint8Array
  /** Key identifiers: usually a hash of the public key. */
  readonly subjectKeyId: Uint8Array
  readonly authorityKeyId: Uint8Array
  /** A CA may sign certificates; a leaf serves TLS. */
  readonly ca: boolean
  readonly dnsNames?: readonly string[]
  /** IPv4 or IPv6 addresses, as their 4 or 16 bytes. */
  readonly ipAddresses?: readonly Uint8Array[]
}

const ED25519 = sequence(oid('1.3.101.112'))
const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2'
}
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 }

function name (cn: string): Uint8Array {
  return sequence(
    set(sequence(oid(OID.organization), utf8String('shoal'))),
    set(sequence(oid(OID.commonName), utf8String(cn)))
  )
}

function extension (id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value))
}

/** The to-be-signed part of a certificate. */
export function tbsCertificate (spec: CertificateSpec): Uint8Array {
  const ext: Uint8Array[] = [
    extension(OID.basicConstraints, true, spec.ca ? sequence(boolean(true)) : sequence()),
    extension(OID.keyUsage, true, namedBits(spec.ca ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign] : [KEY_USAGE.digitalSignature])),
    extension(OID.subjectKeyId, false, octetString(spec.subjectKeyId)),
    extension(OID.authorityKeyId, false, sequence(implicit(0, spec.authorityKeyId)))
  ]
  if (!spec.ca) ext.push(extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth))))
  const altNames = [
    ...(spec.dnsNames ?? []).map(d => implicit(2, new TextEncoder().encode(d))),
    ...(spec.ipAddresses ?? []).map(ip => implicit(7, ip))
  ]
  if (altNames.length > 0) ext.push(extension(OID.subjectAltName, false, sequence(...altNames)))
  return sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(spec.serial),
    ED25519,
    name(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKeySpki,
    explicit(3, sequence(...ext))
  )
}

/** The whole certificate, DER: the TBS part, the algorithm and the issuer's Ed25519 signature over it. */
export function signCertificate (spec: CertificateSpec, sign: (tbs: Uint8Array) => Uint8Array): Uint8Array {
  const tbs = tbsCertificate(spec)
  return sequence(tbs, ED25519, bitString(sign(tbs)))
}

/** PEM armour for DER bytes. */
export function pem (label: string, der: Uint8Array): string {
  let b64 = ''
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < der.length; i += 3) {
    const [a, b, c] = [der[i]!, der[i + 1], der[i + 2]]
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0)
    b64 += chars[(n >> 18) & 63]! + chars[(n >> 12) & 63]! + (b === undefined ? '=' : chars[(n >> 6) & 63]!) + (c === undefined ? '=' : chars[n & 63]!)
  }
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** `10.0.0.1` → 4 bytes, `::1` → 16 bytes; undefined when it is not an IP literal. */
export function ipBytes (ip: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (v4 !== null) {
    const parts = v4.slice(1).map(Number)
    return parts.every(p => p <= 255) ? Uint8Array.from(parts) : undefined
  }
  if (!ip.includes(':') || !/^[0-9a-fA-F:.]+$/.test(ip)) return undefined
  const [head = '', tail, extra] = ip.split('::')
  if (extra !== undefined) return undefined
  const groups = (s: string): number[] | undefined => {
    if (s === '') return []
    const out: number[] = []
    for (const g of s.split(':')) {
      const dotted = g.includes('.') ? ipBytes(g) : undefined
      if (dotted !== undefined && dotted.length === 4) out.push((dotted[0]! << 8) | dotted[1]!, (dotted[2]! << 8) | dotted[3]!)
      else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16))
      else return undefined
    }
    return out
  }
  const h = groups(head)
  const t = tail === undefined ? [] : groups(tail)
  if (h === undefined || t === undefined) return undefined
  const fill = 8 - h.length - t.length
  if (tail === undefined ? fill !== 0 : fill < 1) return undefined
  const all = [...h, ...new Array<number>(tail === undefined ? 0 : fill).fill(0), ...t]
  return concat(all.map(g => Uint8Array.of(g >> 8, g & 255)))
}
