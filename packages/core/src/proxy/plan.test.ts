import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject } from '../store/types.ts'
import { backendsFor, listenersFor, publishedTarget, Rotation } from './plan.ts'

const svc = (name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z'): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: name, resourceVersion: '1', creationTimestamp: created }, spec })

describe('listenersFor', () => {
  it('listens on the cluster IP for every service, on the node address for node ports and load balancer ports', () => {
    const { listeners, problems } = listenersFor([
      svc('web', { type: 'LoadBalancer', clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30000 }] }),
      svc('db', { type: 'ClusterIP', clusterIP: '10.96.0.2', ports: [{ port: 5432, protocol: 'TCP' }] }),
      svc('np', { type: 'NodePort', clusterIP: '10.96.0.3', sessionAffinity: 'ClientIP', ports: [{ port: 81, protocol: 'TCP', nodePort: 30001 }] }),
      svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      svc('ext', { type: 'ExternalName', externalName: 'example.com' })
    ], '127.0.0.11')
    assert.deepEqual(problems, [])
    // Services in age order, then by name: db, np, web.
    assert.deepEqual(listeners.map(l => [l.key, l.kind, l.service, l.portName, l.reusePort, l.affinitySeconds]), [
      ['10.96.0.2:5432', 'ClusterIP', 'default/db', '', true, undefined],
      ['10.96.0.3:81', 'ClusterIP', 'default/np', '', true, 10_800],
      ['127.0.0.11:30001', 'NodePort', 'default/np', '', false, 10_800],
      ['10.96.0.1:80', 'ClusterIP', 'default/web', 'http', true, undefined],
      ['127.0.0.11:30000', 'NodePort', 'default/web', 'http', false, undefined],
      ['127.0.0.11:80', 'LoadBalancer', 'default/web', 'http', false, undefined]
    ])
  })

  it('gives a contested address to the older service and tells the other; UDP is not proxied', () => {
    const { listeners, problems } = listenersFor([
      svc('young', { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP', nodePort: 30002 }] }, '2026-01-02T00:00:00Z'),
      svc('old', { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP', nodePort: 30003 }, { name: 'dns', port: 53, protocol: 'UDP' }] }, '2026-01-01T00:00:00Z')
    ], '127.0.0.11')
    assert.equal(listeners.find(l => l.key === '127.0.0.11:80')?.service, 'default/old')
    assert.deepEqual(problems, [
      { service: 'default/old', message: 'port 53/UDP: only TCP is proxied' },
      { service: 'default/young', message: '127.0.0.11:80 is already served for service default/old' }
    ])
  })
})

describe('backends and rotation', () => {
  // Named port `http`: 8080 on pod a, 9090 on pod b (two subsets).
  const ep = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', uid: 'e', resourceVersion: '1', creationTimestamp: '' }, subsets: [
    { addresses: [{ ip: '10.244.2.7', nodeName: 'n2', targetRef: { namespace: 'default', name: 'b' } }], notReadyAddresses: [{ ip: '10.244.3.2', targetRef: { name: 'x' } }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    { addresses: [{ ip: '10.244.1.5', nodeName: 'n1', targetRef: { namespace: 'default', name: 'a' } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }
  ] } as unknown as KubeObject

  it('takes the ready addresses of the named port, never the not-ready ones', () => {
    assert.deepEqual(backendsFor(ep, 'http'), [{ ip: '10.244.1.5', port: 8080, namespace: 'default', pod: 'a', node: 'n1' }, { ip: '10.244.2.7', port: 9090, namespace: 'default', pod: 'b', node: 'n2' }])
    assert.deepEqual(backendsFor(ep, 'other'), [])
    assert.deepEqual(backendsFor(undefined, 'http'), [])
  })

  it('reaches a backend at its pod IP, or at the port its pod publishes for it (an agent with --publish-address)', () => {
    const [a] = backendsFor(ep, 'http')
    const pod = (hostPorts: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default', uid: 'a', resourceVersion: '1', creationTimestamp: '' }, spec: { nodeName: 'n1' }, status: { podIP: '10.244.1.5', hostPorts } })
    const published = { containerName: 'web', containerPort: 8080, protocol: 'TCP', hostIP: '172.29.214.1', hostPort: 32000 }
    const docker = (): boolean => false // the pod's IP is on Docker's bridge, not the pod network
    assert.deepEqual(publishedTarget(a!, pod([published]), docker), { ip: '172.29.214.1', port: 32000 })
    assert.deepEqual(publishedTarget(a!, pod([{ ...published, containerPort: 9000, hostPort: 32001 }, published]), docker), { ip: '172.29.214.1', port: 32000 }, 'the entry for the backend\'s port')
    assert.equal(publishedTarget(a!, pod([]), docker), undefined, 'publishes nothing: at its pod IP')
    assert.equal(publishedTarget(a!, pod([{ ...published, containerPort: 9000 }]), docker), undefined, 'publishes another port')
    assert.equal(publishedTarget(a!, pod([{ ...published, protocol: 'UDP' }]), docker), undefined, 'publishes it for UDP only')
    assert.equal(publishedTarget(a!, undefined, docker), undefined, 'the pod is not in the replica')
    assert.equal(publishedTarget(a!, pod([published]), ip => ip.startsWith('10.244.')), undefined, 'a pod on the pod network with a hostPort: at its pod IP all the same')
  })

  it('goes round robin, and keeps a client on its backend with affinity until the timeout', () => {
    const r = new Rotation()
    const bs = backendsFor(ep, 'http')
    assert.deepEqual([0, 1, 2].map(() => r.order(bs, 'c', 0)[0]?.pod), ['a', 'b', 'a'])
    const sticky = new Rotation()
    sticky.chosen(bs[1]!, 'c', 0, 10)
    assert.deepEqual([0, 1, 2].map(() => sticky.order(bs, 'c', 5000, 10)[0]?.pod), ['b', 'b', 'b'])
    assert.equal(sticky.order(bs, 'other', 5000, 10).length, 2, 'the others still get every backend to try')
    assert.notDeepEqual([0, 1].map(() => sticky.order(bs, 'c', 20_000, 10)[0]?.pod), ['b', 'b'], 'expired after 10 s')
  })
})
