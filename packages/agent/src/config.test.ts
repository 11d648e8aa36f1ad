import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatHostPort, hostNetworks, parseHostPort, resolveAgentConfig, type HostInfo, type InterfaceAddress } from './config.ts'

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
    assert.equal(resolveAgentConfig({ ...base, maxPods: 300 }).maxPods, 300)
    for (const maxPods of [0, 2.5, 10_001]) assert.throws(() => resolveAgentConfig({ ...base, maxPods }), (err: Error & { problems?: string[] }) => err.problems?.some(p => p.startsWith('--max-pods must be a whole number from 1 to 10000')) === true)
    assert.throws(() => resolveAgentConfig({ ...base, runtime: 'podman' }), (err: Error & { problems?: string[] }) => err.problems?.some(p => p === '--runtime must be docker or hollow, got "podman"') === true)
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

  it('--pod-network: auto is shoal as root with the engine beside the agent, docker otherwise; --network-backend auto, host-gw or vxlan; anything else refused', () => {
    const base = { name: 'n1', bind: '127.0.0.5', dataDir: '/tmp/x' }
    const root = process.getuid?.() === 0
    assert.equal(resolveAgentConfig(base).podNetwork, root ? 'shoal' : 'docker')
    assert.equal(resolveAgentConfig({ ...base, publishAddress: '172.17.0.1' }).podNetwork, 'docker', 'the engine elsewhere: Docker\'s network')
    assert.equal(resolveAgentConfig({ ...base, podNetwork: 'docker' }).podNetwork, 'docker')
    assert.equal(resolveAgentConfig({ ...base, podNetwork: 'shoal' }).podNetwork, 'shoal')
    assert.equal(resolveAgentConfig(base).networkBackend, 'auto')
    assert.equal(resolveAgentConfig({ ...base, networkBackend: 'vxlan' }).networkBackend, 'vxlan')
    const refused = (init: object, problem: string): void => {
      assert.throws(() => resolveAgentConfig({ ...base, ...init }), (err: Error & { problems?: string[] }) => err.problems?.includes(problem) === true)
    }
    refused({ podNetwork: 'calico' }, '--pod-network must be auto, shoal or docker, got "calico"')
    refused({ podNetwork: 'shoal', publishAddress: '172.17.0.1' }, '--pod-network=shoal needs the Docker engine beside the agent: drop --publish-address, or use --pod-network=docker')
    refused({ networkBackend: 'wireguard' }, '--network-backend must be auto, host-gw, vxlan, got "wireguard"')
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

describe('--cluster-cidr and --node-cidr-mask-size', () => {
  const v4 = (address: string, netmask: string, internal = false): InterfaceAddress => ({ address, netmask, family: 'IPv4', internal })
  /** A host on 192.168.10.0/24 and Docker's 172.17.0.0/16, with loopback, IPv6 and one of the agent's own pod bridges. */
  const host: HostInfo = {
    interfaces: () => ({
      lo: [v4('127.0.0.1', '255.0.0.0', true)],
      eth0: [v4('192.168.10.5', '255.255.255.0'), { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false }],
      docker0: [{ ...v4('172.17.0.1', '255.255.0.0'), cidr: '172.17.0.1/16' }],
      shoal0: [v4('10.244.3.1', '255.255.255.0')]
    })
  }
  const base = { name: 'n1', bind: '127.0.0.5', dataDir: '/tmp/x' }
  const problemsOf = (init: Parameters<typeof resolveAgentConfig>[0], h: HostInfo = host): string[] => {
    try {
      resolveAgentConfig(init, h)
    } catch (err) {
      return (err as Error & { problems: string[] }).problems
    }
    return []
  }

  it('default to 10.244.0.0/16 and /24', () => {
    const c = resolveAgentConfig(base, host)
    assert.equal(c.clusterCIDR, '10.244.0.0/16')
    assert.equal(c.nodeCIDRMaskSize, 24)
  })

  it('take other values', () => {
    const c = resolveAgentConfig({ ...base, clusterCIDR: '10.200.0.0/16', nodeCIDRMaskSize: 26 }, host)
    assert.equal(c.clusterCIDR, '10.200.0.0/16')
    assert.equal(c.nodeCIDRMaskSize, 26)
  })

  it('reads the networks of the host\'s interfaces, leaving out loopback, IPv6 and the agent\'s own bridges', () => {
    assert.deepEqual(hostNetworks(host), [{ name: 'eth0', network: '192.168.10.0/24' }, { name: 'docker0', network: '172.17.0.0/16' }])
  })

  const refusals: Array<[string, Partial<{ clusterCIDR: string, nodeCIDRMaskSize: number, join: string }>, string[]]> = [
    ['no CIDR', { clusterCIDR: '10.244.0.0' }, ['--cluster-cidr must be an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0"']],
    ['an IPv6 CIDR', { clusterCIDR: 'fd00::/48' }, ['--cluster-cidr must be an IPv4 CIDR such as 10.244.0.0/16, got "fd00::/48"']],
    ['host bits set', { clusterCIDR: '10.244.1.0/16' }, ['--cluster-cidr must have its host bits zero: 10.244.1.0/16 is in the network 10.244.0.0/16']],
    ['too small a cluster CIDR', { clusterCIDR: '10.244.0.0/28', nodeCIDRMaskSize: 28 }, ['--cluster-cidr must be a /27 or larger, room for at least two node ranges of /28, got 10.244.0.0/28']],
    ['a mask no longer than the cluster prefix', { nodeCIDRMaskSize: 16 }, ['--node-cidr-mask-size must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got 16']],
    ['a mask too long', { nodeCIDRMaskSize: 30 }, ['--node-cidr-mask-size must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got 30']],
    ['a mask that is no number', { nodeCIDRMaskSize: Number('x') }, ['--node-cidr-mask-size must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got NaN']],
    ['the Service range', { clusterCIDR: '10.96.0.0/16' }, ['--cluster-cidr 10.96.0.0/16 overlaps the Service range 10.96.0.0/16 (the cluster IPs)']],
    ['a range holding the Service range', { clusterCIDR: '10.0.0.0/8' }, ['--cluster-cidr 10.0.0.0/8 overlaps the Service range 10.96.0.0/16 (the cluster IPs)']],
    ['a host network', { clusterCIDR: '192.168.0.0/16' }, ['--cluster-cidr 192.168.0.0/16 overlaps the network 192.168.10.0/24 of this host\'s interface eth0: choose a range no interface of this host uses']],
    ['Docker\'s network', { clusterCIDR: '172.17.128.0/17', nodeCIDRMaskSize: 24 }, ['--cluster-cidr 172.17.128.0/17 overlaps the network 172.17.0.0/16 of this host\'s interface docker0: choose a range no interface of this host uses']]
  ]
  for (const [what, init, problems] of refusals) {
    it(`refuses ${what}, naming the flag`, () => assert.deepEqual(problemsOf({ ...base, ...init }), problems))
  }

  it('do not mind the agent\'s own pod bridges, loopback, or host networks when joining (the cluster\'s CIDR applies then)', () => {
    assert.deepEqual(problemsOf({ ...base, clusterCIDR: '127.0.0.0/16' }), [])
    assert.deepEqual(problemsOf({ ...base, clusterCIDR: '192.168.0.0/16', join: '10.0.0.1' }), [])
    assert.deepEqual(problemsOf({ ...base, clusterCIDR: '10.96.0.0/16', join: '10.0.0.1' }), ['--cluster-cidr 10.96.0.0/16 overlaps the Service range 10.96.0.0/16 (the cluster IPs)'])
  })
})
