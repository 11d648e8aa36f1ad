import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, type KeyObject } from 'node:crypto'
import { hostname, networkInterfaces } from 'node:os'
import { signCertificate, pem, ipBytes } from '@shoal/core/x509/index.ts'
import type { ClusterSecret } from '../cluster/token.ts'

/**
 * The API's credentials, all derived from the cluster secret so that every
 * agent arrives at the same ones without asking anybody:
 *
 * - the cluster CA: an Ed25519 key from the secret and a self-signed
 *   certificate with fixed fields, byte-identical on every agent, so a
 *   kubeconfig from any agent trusts every agent;
 * - each agent's serving certificate: a fresh key per start, signed by the CA,
 *   naming the agent's addresses;
 * - the admin bearer token.
 *
 * Whoever holds the join token can derive all three: the join token already
 * lets a machine into the cluster, so it is an admin credential anyway.
 */
export interface ApiCredentials {
  /** PEM of the CA certificate: the kubeconfig's certificate-authority-data. */
  readonly caPem: string
  /** PEM of this agent's serving certificate and its key. */
  readonly certPem: string
  readonly keyPem: string
  /** The admin bearer token. */
  readonly token: string
}

function derive (label: string, cluster: ClusterSecret, bytes = 32): Buffer {
  return createHash('sha256').update(label).update('\0').update(cluster.secret).digest().subarray(0, bytes)
}

/** The Ed25519 private key with this 32-byte seed (PKCS#8 is a fixed prefix and the seed). */
function ed25519FromSeed (seed: Uint8Array): KeyObject {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' })
}

function spkiOf (key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }))
}

function keyId (spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki).digest())
}

const CA_NOT_BEFORE = new Date('2024-01-01T00:00:00Z')
const CA_NOT_AFTER = new Date('2124-01-01T00:00:00Z')
const SERVING_YEARS = 10

/** The cluster's token for the API, `shoal-admin.` and 32 hex digits. */
export function adminToken (cluster: ClusterSecret): string {
  return `shoal-admin.${derive('shoal api admin token', cluster, 16).toString('hex')}`
}

/** Compare a request's `Authorization` header with the token, in constant time. */
export function bearerMatches (header: string | undefined, token: string): boolean {
  if (header === undefined) return false
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (m === null) return false
  const got = Buffer.from(m[1]!)
  const want = Buffer.from(token)
  return got.length === want.length && timingSafeEqual(got, want)
}

export function clusterCa (cluster: ClusterSecret): { key: KeyObject, certPem: string, keyId: Uint8Array } {
  const key = ed25519FromSeed(derive('shoal api ca key', cluster))
  const spki = spkiOf(key)
  const id = keyId(spki)
  const subject = `shoal-ca-${cluster.id}`
  const der = signCertificate({
    serial: derive('shoal api ca serial', cluster, 16),
    subject,
    issuer: subject,
    notBefore: CA_NOT_BEFORE,
    notAfter: CA_NOT_AFTER,
    publicKeySpki: spki,
    subjectKeyId: id,
    authorityKeyId: id,
    ca: true
  }, tbs => new Uint8Array(sign(null, tbs, key)))
  return { key, certPem: pem('CERTIFICATE', der), keyId: id }
}

/**
 * The names a serving certificate covers: the advertised and bound
 * addresses (every local address when bound to all), loopback, `localhost`,
 * the node name and the host name.
 */
export function servingNames (opts: { advertise: string, bind: string, name: string }): { dns: string[], ips: string[] } {
  const ips = new Set<string>([opts.advertise, '127.0.0.1', '::1'])
  if (opts.bind === '0.0.0.0' || opts.bind === '::') {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) ips.add(a.address.replace(/%.*$/, ''))
  } else {
    ips.add(opts.bind)
  }
  const dns = new Set<string>(['localhost', opts.name, hostname()].filter(n => /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(n)))
  for (const ip of ips) if (ipBytes(ip) === undefined) { ips.delete(ip); dns.add(ip) }
  return { dns: [...dns], ips: [...ips] }
}

/** Everything the API serves and checks with, for `cluster` on this agent. */
export function apiCredentials (cluster: ClusterSecret, names: { dns: readonly string[], ips: readonly string[] }, now: Date): ApiCredentials {
  const ca = clusterCa(cluster)
  const { privateKey } = generateKeyPairSync('ed25519')
  const spki = spkiOf(privateKey)
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000)
  const notAfter = new Date(now.getTime())
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + SERVING_YEARS)
  const der = signCertificate({
    serial: new Uint8Array(createHash('sha256').update(spki).digest().subarray(0, 16)),
    subject: names.dns[1] ?? names.ips[0] ?? 'shoal',
    issuer: `shoal-ca-${cluster.id}`,
    notBefore,
    notAfter,
    publicKeySpki: spki,
    subjectKeyId: keyId(spki),
    authorityKeyId: ca.keyId,
    ca: false,
    dnsNames: names.dns,
    ipAddresses: names.ips.map(ip => ipBytes(ip)!)
  }, tbs => new Uint8Array(sign(null, tbs, ca.key)))
  return {
    caPem: ca.certPem,
    certPem: pem('CERTIFICATE', der),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    token: adminToken(cluster)
  }
}
