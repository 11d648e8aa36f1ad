import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatHostPort, parseHostPort, resolveAgentConfig } from './config.ts'

describe('parseHostPort', () => {
  const ok: Array<[string, string, number]> = [
    ['10.0.0.5', '10.0.0.5', 7946],
    ['10.0.0.5:8000', '10.0.0.5', 8000],
    ['node-1.lan', 'node-1.lan', 7946],
    ['[::1]', '::1', 7946],
    ['[::1]:9000', '::1', 9000],
    ['::1', '::1', 7946]
  ]
  for (const [input, host, port] of ok) {
    it(`${input} → ${host} ${port}`, () => assert.deepEqual(parseHostPort(input, 7946), { host, port }))
  }
  for (const bad of ['', ':80', 'host:', 'host:0', 'host:70000', 'host:8x', 'a b', 'http://x']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseHostPort(bad, 7946)))
  }
  it('formats IPv6 in brackets', () => {
    assert.equal(formatHostPort('::1', 6443), '[::1]:6443')
    assert.equal(formatHostPort('10.0.0.1', 6443), '10.0.0.1:6443')
  })
})

describe('resolveAgentConfig', () => {
  it('--controllers: * is every loop, -NAME leaves one out, a list names them; an unknown name is refused', () => {
    const base = { name: 'n1', bind: '127.0.0.5', dataDir: '/tmp/x' }
    assert.deepEqual(resolveAgentConfig(base).controllers, ['nodes', 'nodelifecycle', 'garbagecollector', 'deployment', 'replicaset', 'scheduler', 'endpoint', 'service'])
    assert.deepEqual(resolveAgentConfig({ ...base, controllers: '*,-scheduler,-deployment' }).controllers, ['nodes', 'nodelifecycle', 'garbagecollector', 'replicaset', 'endpoint', 'service'])
    assert.deepEqual(resolveAgentConfig({ ...base, controllers: 'nodes' }).controllers, ['nodes'])
    assert.throws(() => resolveAgentConfig({ ...base, controllers: 'nodes,sheduler' }), (err: Error & { problems?: string[] }) => err.problems?.some(p => p.startsWith('--controllers: unknown controller "sheduler"')) === true)
    assert.throws(() => resolveAgentConfig({ ...base, backoffInitialMs: 5000, backoffMaxMs: 1000 }), (err: Error & { problems?: string[] }) => err.problems?.some(p => p.startsWith('--backoff-max-ms')) === true)
  })

  it('fills the documented defaults', () => {
    const c = resolveAgentConfig({ name: 'n1', bind: '127.0.0.5', dataDir: '/tmp/x' })
    assert.equal(c.port, 7946)
    assert.equal(c.apiPort, 6443)
    assert.equal(c.advertise, '127.0.0.5', 'advertise defaults to a specific bind address')
    assert.equal(c.members.heartbeatIntervalMs, 500)
  })

  it('--publish-address: kept when it differs from the advertised address, dropped when it is the same', () => {
    assert.equal(resolveAgentConfig({ name: 'n1', bind: '127.0.0.5', publishAddress: '172.17.0.1' }).publishAddress, '172.17.0.1')
    assert.equal(resolveAgentConfig({ name: 'n1', bind: '127.0.0.5', publishAddress: '127.0.0.5' }).publishAddress, undefined)
    assert.equal(resolveAgentConfig({ name: 'n1', bind: '127.0.0.5' }).publishAddress, undefined)
  })

  it('advertises a real address when bound to the wildcard', () => {
    assert.notEqual(resolveAgentConfig({ name: 'n1' }).advertise, '0.0.0.0')
  })

  it('reports every problem at once', () => {
    assert.throws(() => resolveAgentConfig({ name: 'N!', port: 0, apiPort: 0, token: 'x', advertise: '0.0.0.0' }), (err: Error) => {
      for (const p of ['--name', '--port must be', '--api-port must be', '--port and --api-port must differ', '--token is only used with --join', '--advertise must be an address others can reach']) {
        assert.ok(err.message.includes(p), `${p} in ${err.message}`)
      }
      return true
    })
  })
})
