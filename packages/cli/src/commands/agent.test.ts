import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { agentInitFrom } from './agent.ts'

describe('shoal agent flags', () => {
  it('--cluster-cidr and --node-cidr-mask-size come from the flags, else SHOAL_CLUSTER_CIDR and SHOAL_NODE_CIDR_MASK_SIZE', () => {
    const env = { SHOAL_CLUSTER_CIDR: '10.201.0.0/16', SHOAL_NODE_CIDR_MASK_SIZE: '25' }
    const fromEnv = agentInitFrom({}, env)
    assert.deepEqual([fromEnv.clusterCIDR, fromEnv.nodeCIDRMaskSize], ['10.201.0.0/16', 25])
    const fromFlags = agentInitFrom({ clusterCidr: '10.202.0.0/16', nodeCidrMaskSize: 26 }, env)
    assert.deepEqual([fromFlags.clusterCIDR, fromFlags.nodeCIDRMaskSize], ['10.202.0.0/16', 26])
    const none = agentInitFrom({}, {})
    assert.equal(Object.hasOwn(none, 'clusterCIDR'), false, 'unset: the config\'s default applies')
    assert.equal(Object.hasOwn(none, 'nodeCIDRMaskSize'), false)
  })
})
