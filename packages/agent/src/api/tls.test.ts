import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { newCluster } from '../cluster/token.ts'
import { adminToken, apiCredentials, bearerMatches, clusterCa } from './tls.ts'

describe('API credentials from the cluster secret', () => {
  const cluster = newCluster()
  const names = { dns: ['localhost', 'node-1'], ips: ['10.0.0.5', '127.0.0.1', '::1'] }

  it('every agent derives the same CA certificate and token; another cluster gets others', () => {
    assert.equal(clusterCa(cluster).certPem, clusterCa({ ...cluster }).certPem)
    assert.equal(adminToken(cluster), adminToken({ ...cluster }))
    const other = newCluster()
    assert.notEqual(clusterCa(other).certPem, clusterCa(cluster).certPem)
    assert.notEqual(adminToken(other), adminToken(cluster))
  })

  it('the CA is a self-signed CA; the serving certificate chains to it and names the addresses', () => {
    const c = apiCredentials(cluster, names, new Date('2026-06-01T00:00:00Z'))
    const ca = new X509Certificate(c.caPem)
    const leaf = new X509Certificate(c.certPem)
    assert.equal(ca.ca, true)
    assert.ok(ca.verify(ca.publicKey))
    assert.equal(leaf.ca, false)
    assert.ok(leaf.verify(ca.publicKey))
    assert.ok(leaf.checkIssued(ca))
    assert.equal(leaf.checkIP('10.0.0.5'), '10.0.0.5')
    assert.equal(leaf.checkIP('::1'), '::1')
    assert.equal(leaf.checkHost('node-1'), 'node-1')
    assert.equal(leaf.checkIP('10.0.0.6'), undefined)
    assert.equal(new Date(leaf.validFrom).toISOString(), '2026-05-31T23:00:00.000Z')
    assert.equal(new Date(leaf.validTo).getUTCFullYear(), 2036)
    assert.ok(leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth')
  })

  it('a certificate from another cluster\'s CA does not verify', () => {
    const other = apiCredentials(newCluster(), names, new Date())
    assert.equal(new X509Certificate(other.certPem).verify(new X509Certificate(clusterCa(cluster).certPem).publicKey), false)
  })

  it('checks the bearer token exactly', () => {
    const token = adminToken(cluster)
    assert.equal(bearerMatches(`Bearer ${token}`, token), true)
    assert.equal(bearerMatches(`bearer ${token}`, token), true)
    assert.equal(bearerMatches(`Bearer ${token}x`, token), false)
    assert.equal(bearerMatches(`Bearer ${token.slice(0, -1)}`, token), false)
    assert.equal(bearerMatches(token, token), false)
    assert.equal(bearerMatches(undefined, token), false)
    assert.equal(bearerMatches('Basic YWRtaW46YWRtaW4=', token), false)
  })
})
