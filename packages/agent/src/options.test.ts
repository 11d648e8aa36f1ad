import { describe, it } from 'node:test'
import { readFileSync } from 'node:fs'
import assert from 'node:assert/strict'
import { AGENT_OPTIONS, agentInitFrom, camelOf, envOf, helpOf } from './options.ts'
import { resolveAgentConfig } from './config.ts'

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

describe('the agent options table', () => {
  it('a flag wins over its variable; an empty number is unset; members settings go under members; the log level apart', () => {
    const init = agentInitFrom({ port: 8000, heartbeatMs: 250, logLevel: 'debug' }, { SHOAL_PORT: '9000', SHOAL_API_PORT: '', SHOAL_SUSPECT_AFTER_MS: '4000', SHOAL_NAME: '' })
    assert.equal(init.port, 8000)
    assert.equal(Object.hasOwn(init, 'apiPort'), false)
    assert.deepEqual(init.members, { heartbeatIntervalMs: 250, suspectAfterMs: 4000 })
    assert.equal(init.logLevel, 'debug')
    assert.equal(init.name, '', 'an empty text is passed on, for the config to refuse or read as unset')
  })

  it('every option has its own flag and variable, and the help names both and the default', () => {
    assert.equal(new Set(AGENT_OPTIONS.map(o => o.flag)).size, AGENT_OPTIONS.length)
    assert.equal(new Set(AGENT_OPTIONS.map(o => o.key)).size, AGENT_OPTIONS.length)
    const join = AGENT_OPTIONS.find(o => o.flag === 'join-retry-ms')!
    assert.equal(envOf(join), 'SHOAL_JOIN_RETRY_MS')
    assert.equal(camelOf(join), 'joinRetryMs')
    assert.equal(helpOf(AGENT_OPTIONS.find(o => o.flag === 'raft-tick-ms')!), 'Raft tick: elections after 10-20 silent ticks, leader heartbeat every 2 ticks (env SHOAL_RAFT_TICK_MS; default 50)')
    assert.equal(helpOf(AGENT_OPTIONS.find(o => o.flag === 'name')!), 'node name, unique in the cluster (env SHOAL_NAME; default: the hostname)')
  })

  it('the defaults the help shows are the ones the config applies', () => {
    const config = resolveAgentConfig({ name: 'n1', bind: '127.0.0.5' }, { interfaces: () => ({}) })
    for (const o of AGENT_OPTIONS) {
      if (o.default === undefined || o.key === 'logLevel' || o.key === 'joinRetryMs' || o.key === 'podNetwork' || o.key === 'controllers' || o.key === 'bind') continue
      const applied = o.key.startsWith('members.') ? (config.members as unknown as Record<string, unknown>)[o.key.slice(8)] : (config as unknown as Record<string, unknown>)[o.key]
      assert.equal(applied, o.default, `--${o.flag}`)
    }
  })
})

describe('the README\'s Settings table', () => {
  it('lists every agent option with its variable and default, and nothing else', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const rows = [...readme.matchAll(/^\| `--([a-z-]+)` \| `(SHOAL_[A-Z_]+)` \|([^|]*)\|/gm)].map(m => ({ flag: m[1]!, env: m[2]!, default: m[3]!.trim() }))
    assert.deepEqual(rows.map(r => r.flag).sort(), AGENT_OPTIONS.map(o => o.flag).sort())
    for (const r of rows) {
      const o = AGENT_OPTIONS.find(x => x.flag === r.flag)!
      assert.equal(r.env, envOf(o), `--${r.flag}`)
      if (o.default !== undefined) assert.ok(r.default.startsWith(`\`${String(o.default).split(':')[0]!}\``), `--${r.flag}: the README says ${r.default}, the agent ${String(o.default)}`)
    }
  })
})
