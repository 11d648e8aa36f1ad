import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { serviceDnatRules, statisticProbability } from './kernel-rules.ts'

describe('kernel rules for Services', () => {
  it('each Service: its mark, then one DNAT per backend, the i-th of n with probability 1/(n−i)', () => {
    const rules = serviceDnatRules([
      { ip: '10.99.0.11', port: 8080, backends: [{ ip: '10.244.0.2', port: 80 }, { ip: '10.244.1.2', port: 80 }, { ip: '10.244.2.2', port: 80 }] },
      { ip: '10.96.0.10', port: 80, backends: [{ ip: '10.244.0.2', port: 80 }] },
      { ip: '10.99.0.11', port: 30001, backends: [] }
    ])
    assert.deepEqual(rules, [
      '-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x800000/0x800000',
      '-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.0.2:80',
      '-d 10.99.0.11/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x800000/0x800000',
      '-d 10.99.0.11/32 -p tcp -m tcp --dport 8080 -m statistic --mode random --probability 0.33333333349 -j DNAT --to-destination 10.244.0.2:80',
      '-d 10.99.0.11/32 -p tcp -m tcp --dport 8080 -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.2:80',
      '-d 10.99.0.11/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.2.2:80'
    ])
  })

  it('probabilities as iptables -S prints them', () => {
    assert.equal(statisticProbability(1 / 3), '0.33333333349')
    assert.equal(statisticProbability(1 / 7), '0.14285714272')
    assert.equal(statisticProbability(0.5), '0.50000000000')
  })
})
