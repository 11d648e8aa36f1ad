import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { KubeObject, ObjectCommand } from '../store/types.ts'
import { endpointSubsets, LISTENING, MANAGED_BY, MANAGER, reconcileEndpoints, reconcileServiceStatus, serviceKeysForPod } from './endpoints.ts'

const NOW = '2026-01-01T00:00:00Z'
type Rec = Record<string, any>

const meta = (name: string, extra: Rec = {}): any => ({ name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '5', creationTimestamp: NOW, ...extra })

function svc (name: string, spec: Rec = {}, status?: Rec): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(name, { labels: { app: name } }), spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec }, ...(status !== undefined ? { status } : {}) }
}

interface PodOpts { node?: string, ready?: boolean, podIP?: string | null, labels?: Rec, phase?: string, deleting?: boolean, ports?: Rec[], hostPorts?: Rec[] }

/** A pod of the web app; by default on n1 at 10.244.1.<n>, declaring no port and publishing nothing. */
function pod (name: string, o: PodOpts = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, { labels: o.labels ?? { app: 'web' }, ...(o.deleting === true ? { deletionTimestamp: NOW } : {}) }),
    spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'web', image: 'w', ...(o.ports !== undefined ? { ports: o.ports } : {}) }] },
    status: {
      phase: o.phase ?? 'Running',
      hostIP: '127.0.0.11',
      ...(o.podIP === null ? {} : { podIP: o.podIP ?? '10.244.1.5' }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      hostPorts: o.hostPorts ?? []
    }
  }
}

const ref = (name: string): Rec => ({ kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` })

function node (name: string, ip: string, ready = true): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { ...meta(name), namespace: undefined }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }
}

const objectOf = (c: ObjectCommand): Rec => (c as { object: Rec }).object

describe('endpoints controller', () => {
  it('lists each ready pod at its pod IP and the target port, unready ones apart; a pod without a pod IP is left out', () => {
    const pods = [
      pod('web-b', { podIP: '10.244.2.7', node: 'n2' }),
      pod('web-a', { podIP: '10.244.1.5' }),
      pod('web-c', { podIP: '10.244.3.2', node: 'n3', ready: false }),
      pod('web-d', { podIP: null, ready: false }), // no sandbox yet: no address, left out
      pod('other', { podIP: '10.244.1.9', labels: { app: 'db' } }),
      pod('gone', { podIP: '10.244.1.10', deleting: true }),
      pod('done', { podIP: '10.244.1.11', phase: 'Succeeded' })
    ]
    assert.deepEqual(endpointSubsets(svc('web'), pods), [{
      addresses: [
        { ip: '10.244.1.5', nodeName: 'n1', targetRef: ref('web-a') },
        { ip: '10.244.2.7', nodeName: 'n2', targetRef: ref('web-b') }
      ],
      notReadyAddresses: [{ ip: '10.244.3.2', nodeName: 'n3', targetRef: ref('web-c') }],
      ports: [{ port: 8080, protocol: 'TCP' }]
    }])
  })

  it('uses a numeric target port as is, declared by a container or not, and whatever the pod publishes on its node', () => {
    const declared = pod('web-a', { podIP: '10.244.1.5', ports: [{ containerPort: 8080, protocol: 'TCP' }], hostPorts: [{ containerName: 'web', containerPort: 8080, protocol: 'TCP', hostIP: '127.0.0.11', hostPort: 32000 }] })
    const undeclared = pod('web-b', { podIP: '10.244.2.7', node: 'n2' })
    const otherPort = pod('web-c', { podIP: '10.244.3.2', node: 'n3', ports: [{ containerPort: 9000, protocol: 'TCP' }] })
    assert.deepEqual(endpointSubsets(svc('web'), [declared, undeclared, otherPort]), [{
      addresses: [
        { ip: '10.244.1.5', nodeName: 'n1', targetRef: ref('web-a') },
        { ip: '10.244.2.7', nodeName: 'n2', targetRef: ref('web-b') },
        { ip: '10.244.3.2', nodeName: 'n3', targetRef: ref('web-c') }
      ],
      ports: [{ port: 8080, protocol: 'TCP' }]
    }])
    // A Service without a targetPort targets its port.
    assert.deepEqual(endpointSubsets(svc('web', { ports: [{ port: 80, protocol: 'TCP' }] }), [undeclared])[0]?.ports, [{ port: 80, protocol: 'TCP' }])
  })

  it('resolves a named target port in each pod\'s container ports (name and protocol): one subset per resolved port set', () => {
    const s = svc('web', { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] })
    const pods = [
      pod('web-a', { podIP: '10.244.1.5', ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' }] }),
      pod('web-b', { podIP: '10.244.2.7', node: 'n2', ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('web-c', { podIP: '10.244.3.2', node: 'n3', ports: [{ name: 'other', containerPort: 8080, protocol: 'TCP' }] }), // no port of that name: left out
      pod('web-d', { podIP: '10.244.3.3', node: 'n3', ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }) // another protocol: left out
    ]
    assert.deepEqual(endpointSubsets(s, pods), [
      { addresses: [{ ip: '10.244.1.5', nodeName: 'n1', targetRef: ref('web-a') }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.244.2.7', nodeName: 'n2', targetRef: ref('web-b') }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] }
    ])
  })

  it('a pod that lacks one named port is listed for the Service\'s other ports', () => {
    const s = svc('web', { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }, { name: 'metrics', port: 9100, protocol: 'TCP', targetPort: 9100 }] })
    const pods = [
      pod('web-a', { podIP: '10.244.1.5', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('web-b', { podIP: '10.244.2.7', node: 'n2' })
    ]
    assert.deepEqual(endpointSubsets(s, pods), [
      { addresses: [{ ip: '10.244.1.5', nodeName: 'n1', targetRef: ref('web-a') }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.244.2.7', nodeName: 'n2', targetRef: ref('web-b') }], ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] }
    ])
  })

  it('creates, then updates only on change, and deletes its own Endpoints when the service goes', () => {
    const pods = [pod('web-a')]
    const [create] = reconcileEndpoints({ services: [svc('web')], pods, endpoints: [], now: NOW })
    assert.equal(create?.op, 'create')
    const made = objectOf(create!)
    assert.equal(made.metadata.labels[MANAGED_BY], MANAGER)
    const stored: KubeObject = { ...(made as KubeObject), metadata: meta('web', { labels: made.metadata.labels }) }
    assert.deepEqual(reconcileEndpoints({ services: [svc('web')], pods, endpoints: [stored], now: NOW }), [], 'nothing changed')
    const [update] = reconcileEndpoints({ services: [svc('web')], pods: [...pods, pod('web-b', { podIP: '10.244.2.7', node: 'n2' })], endpoints: [stored], now: NOW })
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

describe('serviceKeysForPod', () => {
  it('the Services that select the pod as it is, and those whose Endpoints list it', () => {
    const web = svc('web')
    const other = svc('other', { selector: { app: 'other' } })
    const selectorless = svc('manual', { selector: undefined })
    const listing = { apiVersion: 'v1', kind: 'Endpoints', metadata: meta('other'), subsets: [{ notReadyAddresses: [{ ip: '10.244.1.5', targetRef: ref('p') }], ports: [] }] } as unknown as KubeObject
    assert.deepEqual(serviceKeysForPod(pod('p'), [web, other, selectorless], []), ['default/web'])
    assert.deepEqual(serviceKeysForPod(pod('p', { labels: { app: 'none' } }), [web, other, selectorless], [listing]).sort(), ['default/other'])
    assert.deepEqual(serviceKeysForPod(pod('q', { labels: { app: 'none' } }), [web, other], [listing]), [])
  })
})
