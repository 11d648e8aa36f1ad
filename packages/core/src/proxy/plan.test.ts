import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject } from '../store/types.ts'
import { backendsFor, listenersFor, podIPTarget, Rotation } from './plan.ts'

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
  const ep = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', uid: 'e', resourceVersion: '1', creationTimestamp: '' }, subsets: [
    { addresses: [{ ip: '127.0.0.12', nodeName: 'n2', targetRef: { namespace: 'default', name: 'b' } }], notReadyAddresses: [{ ip: '127.0.0.13', targetRef: { name: 'x' } }], ports: [{ name: 'http', port: 32001, protocol: 'TCP' }] },
    { addresses: [{ ip: '127.0.0.11', nodeName: 'n1', targetRef: { namespace: 'default', name: 'a' } }], ports: [{ name: 'http', port: 32000, protocol: 'TCP' }] }
  ] } as unknown as KubeObject

  it('takes the ready addresses of the named port, never the not-ready ones', () => {
    assert.deepEqual(backendsFor(ep, 'http'), [{ ip: '127.0.0.11', port: 32000, namespace: 'default', pod: 'a', node: 'n1' }, { ip: '127.0.0.12', port: 32001, namespace: 'default', pod: 'b', node: 'n2' }])
    assert.deepEqual(backendsFor(ep, 'other'), [])
    assert.deepEqual(backendsFor(undefined, 'http'), [])
  })

  it('reaches a pod at its pod IP and container port when its node shares the pod network, any other through its node', () => {
    const [a, b] = backendsFor(ep, 'http')
    const pod = (node: string, podIP?: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default', uid: 'a', resourceVersion: '1', creationTimestamp: '' }, spec: { nodeName: node }, status: { ...(podIP !== undefined ? { podIP } : {}), hostPorts: [{ containerPort: 8080, protocol: 'TCP', hostIP: '127.0.0.11', hostPort: 32000 }] } })
    const only = (...nodes: string[]) => (n: string): boolean => nodes.includes(n)
    assert.deepEqual(podIPTarget(a!, pod('n1', '172.17.0.5'), only('n1')), { ip: '172.17.0.5', port: 8080 })
    assert.deepEqual(podIPTarget(a!, pod('n1', '172.17.0.5'), only('n2', 'n1')), { ip: '172.17.0.5', port: 8080 }, 'a node sharing the engine')
    assert.equal(podIPTarget(a!, pod('n1', '172.17.0.5'), only('n2')), undefined, 'not on a reachable node')
    assert.equal(podIPTarget(a!, pod('n3', '172.17.0.5'), only('n1', 'n3')), undefined, 'the pod moved: not the node the endpoint names')
    assert.equal(podIPTarget(a!, pod('n1'), only('n1')), undefined, 'no pod IP yet')
    assert.equal(podIPTarget(b!, pod('n1', '172.17.0.5'), only('n1', 'n2')), undefined, 'another host port')
    assert.equal(podIPTarget(a!, undefined, only('n1')), undefined)
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
