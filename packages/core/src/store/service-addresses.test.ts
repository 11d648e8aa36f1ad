import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore } from './store.ts'
import type { BatchResult, KubeObject, ObjectCommand, ObjectInput, Result } from './types.ts'
import { inServiceRange } from './service-addresses.ts'

const NOW = '2026-01-01T00:00:00Z'

type Port = { name?: string, port: number, protocol?: string, nodePort?: number }

function service (name: string, spec: { type?: string, clusterIP?: string, ports?: Port[] } = {}, namespace = 'default'): ObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { type: spec.type ?? 'ClusterIP', selector: { app: name }, ports: spec.ports ?? [{ port: 80, protocol: 'TCP' }], ...(spec.clusterIP !== undefined ? { clusterIP: spec.clusterIP } : {}) }
  }
}

const create = (object: ObjectInput): ObjectCommand => ({ op: 'create', resource: 'services', object, uid: `uid-${object.metadata.name}`, now: NOW })
const update = (object: ObjectInput): ObjectCommand => ({ op: 'update', resource: 'services', object, now: NOW })

function ok (r: Result): KubeObject {
  if (!r.ok) assert.fail(`expected success, got ${r.reason}: ${r.message}`)
  return r.object
}
const specOf = (o: KubeObject): { clusterIP?: string, clusterIPs?: string[], ports: Port[] } => o.spec as never

describe('service addresses, allocated as entries apply', () => {
  it('gives each service the lowest free cluster IP of 10.96.0.0/16, in every namespace', () => {
    const store = new ObjectStore()
    const a = ok(store.apply(1, create(service('a'))))
    const b = ok(store.apply(2, create(service('b', {}, 'other'))))
    assert.equal(specOf(a).clusterIP, '10.96.0.1')
    assert.deepEqual(specOf(a).clusterIPs, ['10.96.0.1'])
    assert.equal(specOf(b).clusterIP, '10.96.0.2')
    ok(store.apply(3, { op: 'delete', resource: 'services', namespace: 'default', name: 'a' }))
    assert.equal(specOf(ok(store.apply(4, create(service('c'))))).clusterIP, '10.96.0.1', 'a freed address is handed out again')
  })

  it('never gives two creates of one batch the same addresses', () => {
    const store = new ObjectStore()
    const r = store.apply(1, { op: 'batch', commands: [create(service('a', { type: 'NodePort' })), create(service('b', { type: 'LoadBalancer' }))] }) as BatchResult
    assert.ok(r.ok)
    const [a, b] = r.results.map(ok)
    assert.notEqual(specOf(a!).clusterIP, specOf(b!).clusterIP)
    assert.equal(specOf(a!).ports[0]!.nodePort, 30000)
    assert.equal(specOf(b!).ports[0]!.nodePort, 30001)
  })

  it('keeps a given address, and refuses one another service holds, writing nothing', () => {
    const store = new ObjectStore()
    ok(store.apply(1, create(service('a', { type: 'NodePort', clusterIP: '10.96.0.50', ports: [{ port: 80, nodePort: 30080 }] }))))
    const clash = store.apply(2, create(service('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })))
    assert.equal(clash.ok, false)
    assert.match(!clash.ok ? clash.message : '', /^Service "b" is invalid: spec.ports\[0\].nodePort: Invalid value: 30080: provided port is already allocated$/)
    const ipClash = store.apply(3, create(service('c', { clusterIP: '10.96.0.50' })))
    assert.match(!ipClash.ok ? ipClash.message : '', /spec.clusterIP: Invalid value: "10.96.0.50": provided IP is already allocated/)
    const outside = store.apply(4, create(service('d', { clusterIP: '192.168.1.1' })))
    assert.match(!outside.ok ? outside.message : '', /provided IP is not in the valid range. The range of valid IPs is 10.96.0.0\/16/)
    assert.equal(store.get('services', 'default', 'b'), undefined)
    assert.equal(store.get('services', 'default', 'c'), undefined)
  })

  it('fills in a port given later in the list before allocating, so it is not taken twice', () => {
    const store = new ObjectStore()
    const s = ok(store.apply(1, create(service('a', { type: 'NodePort', ports: [{ name: 'x', port: 80 }, { name: 'y', port: 81, nodePort: 30000 }] }))))
    assert.deepEqual(specOf(s).ports.map(p => p.nodePort), [30001, 30000])
  })

  it('keeps the allocated addresses when an update leaves them out', () => {
    const store = new ObjectStore()
    const first = ok(store.apply(1, create(service('a', { type: 'NodePort', ports: [{ port: 80 }, { name: 'b', port: 81 }] }))))
    ok(store.apply(2, create(service('other', { type: 'NodePort' }))))
    const again = ok(store.apply(3, update(service('a', { type: 'NodePort', ports: [{ port: 80 }, { name: 'b', port: 81 }] }))))
    assert.equal(specOf(again).clusterIP, specOf(first).clusterIP)
    assert.deepEqual(specOf(again).ports.map(p => p.nodePort), specOf(first).ports.map(p => p.nodePort))
  })

  it('allocates node ports when a ClusterIP service becomes a LoadBalancer; headless and ExternalName get no IP', () => {
    const store = new ObjectStore()
    ok(store.apply(1, create(service('a'))))
    const lb = ok(store.apply(2, update(service('a', { type: 'LoadBalancer' }))))
    assert.equal(specOf(lb).ports[0]!.nodePort, 30000)
    assert.equal(specOf(lb).clusterIP, '10.96.0.1')
    assert.equal(specOf(ok(store.apply(3, create(service('h', { clusterIP: 'None' }))))).clusterIP, 'None')
    const ext = ok(store.apply(4, create({ ...service('e'), spec: { type: 'ExternalName', externalName: 'db.example.com' } })))
    assert.equal(specOf(ext).clusterIP, undefined)
  })

  it('says the range is only 10.96.0.1 to 10.96.255.254', () => {
    assert.ok(inServiceRange('10.96.0.1'))
    assert.ok(inServiceRange('10.96.255.254'))
    assert.ok(!inServiceRange('10.96.0.0'))
    assert.ok(!inServiceRange('10.96.255.255'))
    assert.ok(!inServiceRange('10.97.0.1'))
    assert.ok(!inServiceRange('not-an-ip'))
  })
})
