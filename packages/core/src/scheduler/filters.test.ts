import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { matchesRequirement, matchesTerm, portsConflict, taintReason, tolerates } from './filters.ts'
import type { HostPort, Taint, Toleration } from './types.ts'

describe('tolerates (Kubernetes\' ToleratesTaint)', () => {
  const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }
  const cases: Array<[string, Toleration, boolean]> = [
    ['Equal, same key, value and effect', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    ['operator absent means Equal', { key: 'dedicated', value: 'gpu' }, true],
    ['Equal, other value', { key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoSchedule' }, false],
    ['Equal, no value against a valued taint', { key: 'dedicated', operator: 'Equal' }, false],
    ['Exists ignores the value', { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }, true],
    ['Exists, other key', { key: 'other', operator: 'Exists' }, false],
    ['effect empty tolerates every effect', { key: 'dedicated', operator: 'Exists' }, true],
    ['other effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    ['Exists with no key tolerates everything', { operator: 'Exists' }, true],
    ['Exists with no key, but another effect', { operator: 'Exists', effect: 'NoExecute' }, false],
    ['an unknown operator tolerates nothing', { key: 'dedicated', operator: 'Maybe' }, false]
  ]
  for (const [what, t, want] of cases) it(what, () => assert.equal(tolerates(t, taint), want))

  it('a taint without a value is matched by Equal without a value', () => {
    assert.equal(tolerates({ key: 'k', operator: 'Equal' }, { key: 'k', effect: 'NoExecute' }), true)
    assert.equal(tolerates({ key: 'k', operator: 'Equal', value: '' }, { key: 'k', effect: 'NoExecute' }), true)
  })

  it('words the reason as Kubernetes', () => {
    assert.equal(taintReason(taint), 'node(s) had untolerated taint {dedicated: gpu}')
    assert.equal(taintReason({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }), 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }')
  })
})

describe('node selector requirements', () => {
  const cases: Array<[string, string, string[] | undefined, string | undefined, boolean]> = [
    ['In', 'In', ['a', 'b'], 'b', true],
    ['In, absent', 'In', ['a'], undefined, false],
    ['NotIn', 'NotIn', ['a'], 'b', true],
    ['NotIn, absent label matches', 'NotIn', ['a'], undefined, true],
    ['NotIn, listed', 'NotIn', ['a'], 'a', false],
    ['Exists', 'Exists', undefined, '', true],
    ['Exists, absent', 'Exists', undefined, undefined, false],
    ['DoesNotExist', 'DoesNotExist', undefined, undefined, true],
    ['Gt', 'Gt', ['4'], '8', true],
    ['Gt, equal', 'Gt', ['8'], '8', false],
    ['Lt', 'Lt', ['4'], '2', true],
    ['Gt, not a number', 'Gt', ['4'], 'many', false],
    ['unknown operator', 'Near', ['a'], 'a', false]
  ]
  for (const [what, operator, values, value, want] of cases) {
    it(what, () => assert.equal(matchesRequirement({ key: 'k', operator, ...(values !== undefined ? { values } : {}) }, value), want))
  }

  it('a term ANDs its requirements; an empty term matches nothing; matchFields knows metadata.name', () => {
    const n = { name: 'n1', labels: { zone: 'a', disk: 'ssd' } }
    assert.equal(matchesTerm({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['ssd'] }] }, n), true)
    assert.equal(matchesTerm({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['hdd'] }] }, n), false)
    assert.equal(matchesTerm({}, n), false)
    assert.equal(matchesTerm({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n2'] }] }, n), true)
  })
})

describe('portsConflict (Kubernetes\' HostPortInfo)', () => {
  const p = (port: number, ip = '0.0.0.0', protocol = 'TCP'): HostPort => ({ ip, protocol, port })
  const cases: Array<[string, HostPort, HostPort, boolean]> = [
    ['same port, both wildcard', p(80), p(80), true],
    ['other port', p(80), p(81), false],
    ['other protocol', p(53, '0.0.0.0', 'UDP'), p(53), false],
    ['wildcard against a specific IP', p(80), p(80, '10.0.0.1'), true],
    ['two different specific IPs', p(80, '10.0.0.1'), p(80, '10.0.0.2'), false],
    ['the same specific IP', p(80, '10.0.0.1'), p(80, '10.0.0.1'), true]
  ]
  for (const [what, a, b, want] of cases) it(what, () => assert.equal(portsConflict(a, b), want))
})
