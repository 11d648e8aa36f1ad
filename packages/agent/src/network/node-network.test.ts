import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { networkInterfaces } from 'node:os'
import { ObjectStore, type KubeObject } from '@shoal/core'
import { createNodeNetwork, networkNames, placeOf, ROUTE_PROTO } from './node-network.ts'
import { NetworkCommandError, type CommandRunner } from './command.ts'
import { createPodNetwork, hostVethName, PodNetworkError } from './pod-network.ts'
import { createSilentLogger } from '../log.ts'

const log = createSilentLogger()

/**
 * The pod network's decisions against a recorded kernel: which commands a
 * sync runs for a given store. The same code runs against the real kernel
 * in the lab's tests (test/network.test.ts).
 */

type Iface = ReturnType<typeof networkInterfaces>
const ifaces: Iface = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  eth0: [{ address: '10.99.0.11', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.99.0.11/24' }]
}

function node (name: string, podCIDR: string | undefined, ip: string, ready: 'True' | 'Unknown' = 'True'): { resource: string, object: Omit<KubeObject, 'metadata'> & { metadata: { name: string } } } {
  return {
    resource: 'nodes',
    object: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: podCIDR !== undefined ? { podCIDR, podCIDRs: [podCIDR] } : {},
      status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready }] }
    }
  }
}

/** A replica with the ClusterConfig (10.244.0.0/16, ranges of the first node's size) and `objects`; none without a ClusterConfig when `bare`. */
function storeWith (...objects: Array<ReturnType<typeof node> | 'bare'>): ObjectStore {
  const store = new ObjectStore()
  const nodes = objects.filter(o => o !== 'bare')
  const mask = Number(/\/(\d+)$/.exec(String((nodes[0]?.object.spec as { podCIDR?: string }).podCIDR ?? '/24'))![1])
  const config = { resource: 'clusterconfigs', object: { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: 'cluster' }, spec: { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: mask } } }
  for (const [i, { resource, object }] of [...(objects.includes('bare') ? [] : [config]), ...nodes].entries()) {
    const r = store.apply(i + 1, { op: 'create', resource, object: object as never, uid: `u${i}`, now: '2026-01-01T00:00:00Z' })
    assert.ok(r.ok, JSON.stringify(r))
  }
  return store
}

/** A kernel that knows the bridge once it is made and the routes Shoal added, and records every command. */
function fakeKernel (routes: Array<{ dst: string, gateway?: string, dev?: string }> = []): { run: CommandRunner, calls: string[] } {
  const calls: string[] = []
  let bridge = false
  const run: CommandRunner = async (command, args, input) => {
    const line = [command, ...args].join(' ') + (input !== undefined ? ` <<${input.trim().split('\n').join('; ')}` : '')
    calls.push(line)
    if (command === 'ip' && args[1] === 'addr' && args[2] === 'show') {
      if (!bridge) throw new NetworkCommandError(line, 'Device does not exist.')
      return '[{"addr_info":[]}]'
    }
    if (command === 'ip' && args[0] === 'link' && args[1] === 'add') bridge = true
    if (command === 'ip' && args.slice(0, 4).join(' ') === '-j route show exact') return JSON.stringify(routes.filter(r => r.dst === args[4]))
    if (command === 'ip' && args.join(' ') === `-j route show proto ${ROUTE_PROTO}`) return JSON.stringify(routes.filter(r => r.gateway !== undefined))
    if (command === 'iptables' && args.includes('-C')) throw new NetworkCommandError(line, 'Bad rule')
    return ''
  }
  return { run, calls }
}

describe('node network', () => {
  const names = networkNames('h1')

  it('names fit Linux interface and iptables chain names, and differ per node', () => {
    assert.match(names.bridge, /^shoal-[0-9a-f]{8}$/)
    assert.ok(names.bridge.length <= 15)
    assert.notEqual(networkNames('h2').bridge, names.bridge)
    assert.equal(hostVethName('10.244.1.2'), 'sv0af40102')
  })

  it('places addresses: own and loopback are local, a shared subnet is a link, the rest is far', () => {
    assert.equal(placeOf('10.99.0.11', ifaces), 'local')
    assert.equal(placeOf('127.0.0.12', ifaces), 'local')
    assert.equal(placeOf('10.99.0.12', ifaces), 'link')
    assert.equal(placeOf('192.0.2.1', ifaces), 'far')
  })

  it('without a pod range the node is not ready and nothing is touched: starting before the ClusterConfig, a failure once its range is overdue', async () => {
    const k = fakeKernel()
    const net = createNodeNetwork({ node: 'h1', store: () => storeWith('bare', node('h1', undefined, '10.99.0.11')), log, run: k.run, interfaces: () => ifaces })
    await net.sync()
    assert.deepEqual(net.health(), { ready: false, starting: true, message: 'node h1 has no pod range (spec.podCIDR) yet' })
    assert.deepEqual(k.calls, [])
    assert.throws(() => createPodNetwork({ node: net, log: log }).allocate(), PodNetworkError)
    // Registered long ago (the store's clock says 2026-01-01) with a ClusterConfig, still no range: the cluster CIDR is full.
    const store = new ObjectStore()
    const config = { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: 'cluster' }, spec: { clusterCIDR: '10.244.0.0/23', nodeCIDRMaskSize: 24 } }
    for (const [i, { resource, object }] of [{ resource: 'clusterconfigs', object: config }, node('h2', undefined, '10.99.0.12'), node('h3', undefined, '10.99.0.13'), node('h1', undefined, '10.99.0.11')].entries()) {
      assert.ok(store.apply(i + 1, { op: 'create', resource, object: object as never, uid: `u${i}`, now: '2026-01-01T00:00:00Z' }).ok)
    }
    assert.equal((store.get('nodes', '', 'h3')?.spec as { podCIDR?: string }).podCIDR, '10.244.1.0/24', 'h2 and h3 took both ranges')
    const full = createNodeNetwork({ node: 'h1', store: () => store, log, run: k.run, interfaces: () => ifaces })
    await full.sync()
    assert.deepEqual(full.health(), { ready: false, message: 'node h1 got no pod range (spec.podCIDR): the cluster CIDR 10.244.0.0/23 has none free; one frees up when a node leaves for good' })
    const started = Date.now()
    await createPodNetwork({ node: full, log }).settled()
    assert.ok(Date.now() - started < 1000, 'a failed network is not waited for')
    assert.deepEqual(k.calls, [])
  })

  it('makes the bridge with the gateway, its chains, and host-gw routes to nodes on the link only', async () => {
    const k = fakeKernel([{ dst: '10.244.9.0/24', gateway: '10.99.0.19' }])
    const store = storeWith(
      node('h1', '10.244.0.0/24', '10.99.0.11'),
      node('h2', '10.244.1.0/24', '10.99.0.12'),
      node('h3', '10.244.2.0/24', '10.99.0.13', 'Unknown'), // not posting: no route until it is back
      node('local', '10.244.3.0/24', '127.0.0.5') // an agent on this very host: its bridge is local
    )
    const net = createNodeNetwork({ node: 'h1', store: () => store, log, run: k.run, interfaces: () => ifaces })
    await net.sync()
    assert.deepEqual(net.health(), { ready: true })
    assert.equal(net.state()?.gateway, '10.244.0.1')
    const text = k.calls.join('\n')
    assert.match(text, new RegExp(`ip link add ${names.bridge} type bridge`))
    assert.match(text, new RegExp(`addr add 10.244.0.1/24 dev ${names.bridge}`))
    assert.match(text, new RegExp(`-A ${names.filterChain} -s 10.244.0.0/24 -j ACCEPT; -A ${names.filterChain} -d 10.244.0.0/24 -j ACCEPT`))
    assert.match(text, new RegExp(`-A ${names.natChain} -s 10.244.0.0/24 ! -d 10.244.0.0/16 -j MASQUERADE`))
    assert.match(text, new RegExp(`iptables -w -t filter -I FORWARD 1 -j ${names.filterChain}`))
    assert.match(text, /route replace 10\.244\.1\.0\/24 via 10\.99\.0\.12 proto 83; route del 10\.244\.9\.0\/24 proto 83/)
    assert.doesNotMatch(text, /10\.244\.2\.0|10\.244\.3\.0/)
  })

  it('a range another link already routes is refused, saying so', async () => {
    const k = fakeKernel([{ dst: '10.244.0.0/24', dev: 'shoal-othercl' }])
    const net = createNodeNetwork({ node: 'h1', store: () => storeWith(node('h1', '10.244.0.0/24', '10.99.0.11')), log, run: k.run, interfaces: () => ifaces })
    await assert.rejects(net.sync())
    assert.equal(net.health().ready, false)
    assert.match(net.health().message!, /pod range 10\.244\.0\.0\/24 is already routed on this host through shoal-othercl/)
    assert.ok(!k.calls.some(c => c.includes('link add')))
  })

  it('pod addresses: allocated round the range, never twice, freed with their sandboxes', async () => {
    const k = fakeKernel()
    const net = createNodeNetwork({ node: 'h1', store: () => storeWith(node('h1', '10.244.0.0/28', '10.99.0.11')), log, run: k.run, interfaces: () => ifaces })
    await net.sync()
    const pods = createPodNetwork({ node: net, log, run: k.run })
    pods.adopt(['10.244.0.3']) // a sandbox found after a restart
    const got = Array.from({ length: 12 }, () => pods.allocate())
    assert.deepEqual(got, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2].map(n => `10.244.0.${n}`))
    assert.throws(() => pods.allocate(), /no address left in this node's pod range 10\.244\.0\.0\/28/)
    pods.release('10.244.0.5')
    assert.equal(pods.allocate(), '10.244.0.5')
    await pods.attach(4242, '10.244.0.5')
    assert.match(k.calls.join('\n'), /link add sv0af40005 type veth peer name eth0 netns 4242; link set sv0af40005 master shoal-\w+ up; link set dev sv0af40005 type bridge_slave hairpin on/)
    assert.match(k.calls.join('\n'), /nsenter --net=\/proc\/4242\/ns\/net ip -batch - <<addr add 10\.244\.0\.5\/28 dev eth0; link set lo up; link set eth0 up; route add default via 10\.244\.0\.1/)
    // A full list that no longer shows a wired sandbox frees its address; the ones still being made stay held.
    pods.adopt(['10.244.0.3'])
    assert.equal(pods.allocate(), '10.244.0.5')
    assert.throws(() => pods.allocate(), PodNetworkError)
  })
})
