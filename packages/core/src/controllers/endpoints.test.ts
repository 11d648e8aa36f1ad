import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { endpointSubsets, LISTENING, MANAGED_BY, MANAGER, reconcileEndpoints, reconcileServiceStatus } from './endpoints.ts'

const NOW = '2026-01-01T00:00:00Z'
type Rec = Record<string, any>

const meta = (name: string, extra: Rec = {}): any => ({ name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '5', creationTimestamp: NOW, ...extra })

function svc (name: string, spec: Rec = {}, status?: Rec): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(name, { labels: { app: name } }), spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec }, ...(status !== undefined ? { status } : {}) }
}

function pod (name: string, o: { node?: string, ready?: boolean, hostPort?: number, hostIP?: string, labels?: Rec, phase?: string, deleting?: boolean, portName?: string } = {}): KubeObject {
  const hostIP = o.hostIP ?? '127.0.0.11'
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, { labels: o.labels ?? { app: 'web' }, ...(o.deleting === true ? { deletionTimestamp: NOW } : {}) }),
    spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'web', image: 'w', ports: [{ containerPort: 8080, protocol: 'TCP', ...(o.portName !== undefined ? { name: o.portName } : {}) }] }] },
    status: {
      phase: o.phase ?? 'Running',
      hostIP,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      hostPorts: o.hostPort === undefined ? [] : [{ containerName: 'web', containerPort: 8080, protocol: 'TCP', hostIP, hostPort: o.hostPort }]
    }
  }
}

function node (name: string, ip: string, ready = true): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { ...meta(name), namespace: undefined }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }
}

const objectOf = (c: ObjectCommand): Rec => (c as { object: Rec }).object

describe('endpoints controller', () => {
  it('lists each ready pod at its node address and published host port, unready ones apart, one subset per port set', () => {
    const pods = [
      pod('web-b', { hostPort: 32001, hostIP: '127.0.0.12', node: 'n2' }),
      pod('web-a', { hostPort: 32000 }),
      pod('web-c', { hostPort: 32000, hostIP: '127.0.0.13', node: 'n3', ready: false }),
      pod('web-d'), // publishes nothing: unreachable from other nodes, left out
      pod('other', { hostPort: 32005, labels: { app: 'db' } }),
      pod('gone', { hostPort: 32006, deleting: true }),
      pod('done', { hostPort: 32007, phase: 'Succeeded' })
    ]
    const subsets = endpointSubsets(svc('web'), pods)
    assert.deepEqual(subsets, [
      {
        addresses: [{ ip: '127.0.0.11', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-a', uid: 'uid-web-a' } }],
        notReadyAddresses: [{ ip: '127.0.0.13', nodeName: 'n3', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-c', uid: 'uid-web-c' } }],
        ports: [{ port: 32000, protocol: 'TCP' }]
      },
      { addresses: [{ ip: '127.0.0.12', nodeName: 'n2', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-b', uid: 'uid-web-b' } }], ports: [{ port: 32001, protocol: 'TCP' }] }
    ])
  })

  it('resolves a named target port through the pod\'s container ports', () => {
    const s = svc('web', { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] })
    assert.deepEqual(endpointSubsets(s, [pod('web-a', { hostPort: 32000, portName: 'web' })])[0]?.ports, [{ name: 'http', port: 32000, protocol: 'TCP' }])
    assert.deepEqual(endpointSubsets(s, [pod('web-a', { hostPort: 32000, portName: 'other' })]), [])
  })

  it('creates, then updates only on change, and deletes its own Endpoints when the service goes', () => {
    const pods = [pod('web-a', { hostPort: 32000 })]
    const [create] = reconcileEndpoints({ services: [svc('web')], pods, endpoints: [], now: NOW })
    assert.equal(create?.op, 'create')
    const made = objectOf(create!)
    assert.equal(made.metadata.labels[MANAGED_BY], MANAGER)
    const stored: KubeObject = { ...(made as KubeObject), metadata: meta('web', { labels: made.metadata.labels }) }
    assert.deepEqual(reconcileEndpoints({ services: [svc('web')], pods, endpoints: [stored], now: NOW }), [], 'nothing changed')
    const [update] = reconcileEndpoints({ services: [svc('web')], pods: [...pods, pod('web-b', { hostPort: 32001 })], endpoints: [stored], now: NOW })
    assert.equal(update?.op, 'update')
    assert.equal(objectOf(update!).metadata.resourceVersion, '5', 'guarded by what it read')
    assert.deepEqual(reconcileEndpoints({ services: [], pods, endpoints: [stored], now: NOW }), [{ op: 'delete', resource: 'endpoints', namespace: 'default', name: 'web', precondition: { uid: 'uid-web' } }])
  })

  it('leaves alone the Endpoints of a service without a selector', () => {
    const manual: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: meta('ext'), subsets: [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376 }] }] } as KubeObject
    assert.deepEqual(reconcileEndpoints({ services: [svc('ext', { selector: undefined })], pods: [], endpoints: [manual], now: NOW }), [])
    assert.deepEqual(reconcileEndpoints({ services: [], pods: [], endpoints: [manual], now: NOW }), [])
  })
})

describe('service status', () => {
  const nodes = [node('n1', '127.0.0.11'), node('n2', '127.0.0.12'), node('n3', '127.0.0.13', false)]

  it('gives a LoadBalancer service the addresses of the Ready nodes', () => {
    const [cmd] = reconcileServiceStatus({ services: [svc('web', { type: 'LoadBalancer' })], nodes, failures: [], now: NOW })
    assert.deepEqual(objectOf(cmd!).status, { loadBalancer: { ingress: [{ ip: '127.0.0.11', ipMode: 'Proxy' }, { ip: '127.0.0.12', ipMode: 'Proxy' }] } })
    assert.deepEqual(reconcileServiceStatus({ services: [svc('web', { type: 'LoadBalancer' }, objectOf(cmd!).status)], nodes, failures: [], now: NOW }), [], 'written once')
    assert.deepEqual(reconcileServiceStatus({ services: [svc('web')], nodes, failures: [], now: NOW }), [], 'a ClusterIP service has no ingress')
  })

  it('leaves out a node whose proxy could not listen, and says why in a condition', () => {
    const failures = [{ node: 'n2', service: 'default/web', message: 'listen tcp 127.0.0.12:8080: address already in use' }]
    const [cmd] = reconcileServiceStatus({ services: [svc('web', { type: 'LoadBalancer' })], nodes, failures, now: NOW })
    const status = objectOf(cmd!).status
    assert.deepEqual(status.loadBalancer, { ingress: [{ ip: '127.0.0.11', ipMode: 'Proxy' }] })
    assert.deepEqual(status.conditions, [{ type: LISTENING, status: 'False', reason: 'ListenFailed', message: 'node n2: listen tcp 127.0.0.12:8080: address already in use', lastTransitionTime: NOW, observedGeneration: 1 }])
    const [healed] = reconcileServiceStatus({ services: [svc('web', { type: 'LoadBalancer' }, status)], nodes, failures: [], now: '2026-01-01T00:01:00Z' })
    assert.equal(objectOf(healed!).status.conditions[0].status, 'True')
    assert.equal(objectOf(healed!).status.conditions[0].lastTransitionTime, '2026-01-01T00:01:00Z')
  })
})
