import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { buildTable, formatAge, type Table } from './tables.ts'
import type { KubeObject } from '../store/types.ts'

const NOW = Date.parse('2025-01-01T12:00:00Z')
const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H

function obj (kind: string, name: string, rest: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: '2025-01-01T11:55:00Z', ...meta },
    ...rest
  }
}

function table (resource: string, objects: KubeObject[], includeObject?: 'Object' | 'Metadata' | 'None'): Table {
  return buildTable(resource, objects, { now: NOW, resourceVersion: '42', includeObject })
}

/** Header as kubectl prints it: upper-cased names, wide columns after `|`. */
function header (t: Table): string {
  const names = (p: number): string => t.columnDefinitions.filter(c => c.priority === p).map(c => c.name.toUpperCase()).join(' ')
  return names(1) === '' ? names(0) : `${names(0)} | ${names(1)}`
}

function cells (t: Table, row = 0): readonly unknown[] {
  const r = t.rows[row]
  assert.ok(r, `row ${row}`)
  return r.cells
}

const running = { running: { startedAt: '2025-01-01T11:55:05Z' } }

describe('formatAge (duration.HumanDuration)', () => {
  const cases: Array<[number, string]> = [
    [-2 * S, '<invalid>'], [-1500, '0s'], [-999, '0s'], [0, '0s'], [999, '0s'], [45 * S, '45s'], [119 * S, '119s'],
    [2 * M, '2m'], [3 * M + 12 * S, '3m12s'], [9 * M + 59 * S, '9m59s'], [10 * M + 30 * S, '10m'], [17 * M, '17m'],
    [179 * M, '179m'], [3 * H, '3h'], [5 * H + 2 * M, '5h2m'], [7 * H + 59 * M, '7h59m'], [8 * H + 30 * M, '8h'],
    [47 * H, '47h'], [2 * D, '2d'], [2 * D + 5 * H, '2d5h'], [7 * D + 23 * H, '7d23h'], [8 * D + 5 * H, '8d'],
    [729 * D, '729d'], [730 * D, '2y'], [731 * D, '2y1d'], [3 * 365 * D + 100 * D, '3y100d'], [8 * 365 * D, '8y'],
    [20 * 365 * D + 100 * D, '20y']
  ]
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(formatAge(ms), want))
})

describe('buildTable: pods', () => {
  const pod = (name: string, status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject =>
    obj('Pod', name, { spec: { containers: [{ name: 'web', image: 'nginx' }], ...spec }, status }, meta)

  it('has the upstream columns, the wide ones at priority 1', () => {
    const t = table('pods', [])
    assert.equal(header(t), 'NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES')
    assert.equal(t.columnDefinitions[0]?.format, 'name')
  })

  it('a Running pod with 1/1 ready and 2 restarts', () => {
    const t = table('pods', [pod('web-1', {
      phase: 'Running',
      podIP: '10.244.0.12',
      podIPs: [{ ip: '10.244.0.12' }],
      containerStatuses: [{ name: 'web', ready: true, restartCount: 2, state: running }]
    }, { nodeName: 'node-1' })])
    assert.deepEqual(cells(t), ['web-1', '1/1', 'Running', '2', '5m', '10.244.0.12', 'node-1', '<none>', '<none>'])
  })

  it('shows when the last restart was', () => {
    const t = table('pods', [pod('web-1', {
      phase: 'Running',
      containerStatuses: [{ name: 'web', ready: true, restartCount: 2, state: running, lastState: { terminated: { exitCode: 1, finishedAt: '2025-01-01T11:57:00Z' } } }]
    })])
    assert.equal(cells(t)[3], '2 (3m ago)')
  })

  it('a CrashLoopBackOff pod', () => {
    const t = table('pods', [pod('crash', {
      phase: 'Running',
      containerStatuses: [{ name: 'web', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }]
    })])
    assert.deepEqual(cells(t).slice(0, 4), ['crash', '0/1', 'CrashLoopBackOff', '5'])
  })

  it('an ImagePullBackOff pod, a Pending pod without statuses, a Completed pod', () => {
    const t = table('pods', [
      pod('pull', { phase: 'Pending', containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] }),
      pod('new', { phase: 'Pending' }),
      pod('job', { phase: 'Succeeded', containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }),
      pod('oom', { phase: 'Running', containerStatuses: [{ name: 'web', state: { terminated: { exitCode: 137 } } }] })
    ])
    assert.deepEqual(t.rows.map(r => r.cells[2]), ['ImagePullBackOff', 'Pending', 'Completed', 'ExitCode:137'])
  })

  it('Terminating once deletionTimestamp is set, unless the phase is terminal', () => {
    const status = { phase: 'Running', containerStatuses: [{ name: 'web', ready: true, state: running }] }
    const t = table('pods', [
      pod('going', status, {}, { deletionTimestamp: '2025-01-01T11:59:00Z' }),
      pod('done', { phase: 'Succeeded' }, {}, { deletionTimestamp: '2025-01-01T11:59:00Z' })
    ])
    assert.deepEqual(t.rows.map(r => r.cells[2]), ['Terminating', 'Succeeded'])
  })

  it('init containers and readiness gates', () => {
    const t = table('pods', [
      pod('init', { phase: 'Pending', initContainerStatuses: [{ name: 'setup', state: { running: {} } }] }, { initContainers: [{ name: 'setup' }, { name: 'migrate' }] }),
      pod('gated', {
        phase: 'Running',
        conditions: [{ type: 'example.com/lb', status: 'True' }],
        containerStatuses: [{ name: 'web', ready: true, state: running }]
      }, { readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] })
    ])
    assert.equal(cells(t, 0)[2], 'Init:0/2')
    assert.equal(cells(t, 1)[8], '1/2')
  })
})

describe('buildTable: workloads', () => {
  const template = { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }, { name: 'log', image: 'busybox' }] } }

  it('a Deployment 3/3', () => {
    const d = obj('Deployment', 'web', {
      apiVersion: 'apps/v1',
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', tier: 'fe' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }
    }, { creationTimestamp: '2024-12-30T10:00:00Z' })
    const t = table('deployments', [d])
    assert.equal(header(t), 'NAME READY UP-TO-DATE AVAILABLE AGE | CONTAINERS IMAGES SELECTOR')
    assert.deepEqual(cells(t), ['web', '3/3', 3, 3, '2d2h', 'web,log', 'nginx:1.27,busybox', 'app=web,tier=fe'])
  })

  it('a Deployment scaling up with no status yet, and a selector with expressions', () => {
    const d = obj('Deployment', 'api', {
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'canary', operator: 'DoesNotExist' }] },
        template
      }
    })
    assert.deepEqual(cells(table('deployments', [d])), ['api', '0/2', 0, 0, '5m', 'web,log', 'nginx:1.27,busybox', 'app=api,!canary,env in (dev,prod)'])
  })

  it('a ReplicaSet', () => {
    const rs = obj('ReplicaSet', 'web-7c9d', {
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7c9d' } }, template },
      status: { replicas: 3, readyReplicas: 2 }
    })
    const t = table('replicasets', [rs])
    assert.equal(header(t), 'NAME DESIRED CURRENT READY AGE | CONTAINERS IMAGES SELECTOR')
    assert.deepEqual(cells(t), ['web-7c9d', 3, 3, 2, '5m', 'web,log', 'nginx:1.27,busybox', 'app=web,pod-template-hash=7c9d'])
  })
})

describe('buildTable: services', () => {
  const svc = (name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => obj('Service', name, { spec, status })

  it('ClusterIP, pending LoadBalancer, NodePort, provisioned LoadBalancer, ExternalName', () => {
    const t = table('services', [
      svc('kubernetes', { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 443, protocol: 'TCP' }] }),
      svc('lb', { type: 'LoadBalancer', clusterIPs: ['10.96.0.20'], ports: [{ port: 8080, nodePort: 31234, protocol: 'TCP' }], selector: { app: 'web' } }),
      svc('np', { type: 'NodePort', clusterIPs: ['10.96.0.30'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { tier: 'fe', app: 'web' } }),
      svc('lb2', { type: 'LoadBalancer', clusterIPs: ['10.96.0.40'], ports: [{ port: 80, nodePort: 30081, protocol: 'TCP' }] },
        { loadBalancer: { ingress: [{ ip: '192.168.1.20' }, { hostname: 'lb.example.com' }] } }),
      svc('ext', { type: 'ExternalName', externalName: 'db.example.com' })
    ])
    assert.equal(header(t), 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE | SELECTOR')
    assert.deepEqual(t.rows.map(r => r.cells), [
      ['kubernetes', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP', '5m', '<none>'],
      ['lb', 'LoadBalancer', '10.96.0.20', '<pending>', '8080:31234/TCP', '5m', 'app=web'],
      ['np', 'NodePort', '10.96.0.30', '<none>', '80:30080/TCP,53/UDP', '5m', 'app=web,tier=fe'],
      ['lb2', 'LoadBalancer', '10.96.0.40', '192.168.1.20,lb.example.com', '80:30081/TCP', '5m', '<none>'],
      ['ext', 'ExternalName', '<none>', 'db.example.com', '<none>', '5m', '<none>']
    ])
  })
})

describe('buildTable: nodes', () => {
  const node = (name: string, labels: Record<string, string>, ready: string | undefined, unschedulable = false): KubeObject => obj('Node', name, {
    spec: unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: ready === undefined ? [] : [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: ready }],
      addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: '192.168.1.10' }],
      nodeInfo: { kubeletVersion: 'v1.32.0-shoal', osImage: 'Ubuntu 24.04 LTS', kernelVersion: '6.8.0', containerRuntimeVersion: 'docker://27.3.1' }
    }
  }, { namespace: undefined, labels, creationTimestamp: '2024-11-01T12:00:00Z' })

  it('status from the Ready condition, roles from labels', () => {
    const t = table('nodes', [
      node('n1', { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' }, 'True'),
      node('n2', { 'kubernetes.io/hostname': 'n2' }, 'False', true),
      node('n3', { 'kubernetes.io/role': 'edge' }, undefined)
    ])
    assert.equal(header(t), 'NAME STATUS ROLES AGE VERSION | INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME')
    assert.deepEqual(cells(t, 0), ['n1', 'Ready', 'control-plane,worker', '61d', 'v1.32.0-shoal', '192.168.1.10', '<none>', 'Ubuntu 24.04 LTS', '6.8.0', 'docker://27.3.1'])
    assert.deepEqual(cells(t, 1).slice(0, 3), ['n2', 'NotReady,SchedulingDisabled', '<none>'])
    assert.deepEqual(cells(t, 2).slice(0, 3), ['n3', 'Unknown', 'edge'])
  })
})

describe('buildTable: other kinds', () => {
  it('namespaces, configmaps', () => {
    assert.deepEqual(cells(table('namespaces', [obj('Namespace', 'default', { status: { phase: 'Active' } })])), ['default', 'Active', '5m'])
    const t = table('configmaps', [obj('ConfigMap', 'cfg', { data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } })])
    assert.equal(header(t), 'NAME DATA AGE')
    assert.deepEqual(cells(t), ['cfg', 3, '5m'])
  })

  it('endpoints: ip:port, headless, and more than three', () => {
    const addresses = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ ip: `10.244.0.${i + 1}` }))
    const t = table('endpoints', [
      obj('Endpoints', 'web', { subsets: [{ addresses: addresses(2), ports: [{ port: 80, protocol: 'TCP' }] }] }),
      obj('Endpoints', 'headless', { subsets: [{ addresses: addresses(1) }] }),
      obj('Endpoints', 'big', { subsets: [{ addresses: addresses(5), ports: [{ port: 8080 }] }] }),
      obj('Endpoints', 'none', {})
    ])
    assert.equal(header(t), 'NAME ENDPOINTS AGE')
    assert.deepEqual(t.rows.map(r => r.cells[1]), [
      '10.244.0.1:80,10.244.0.2:80', '10.244.0.1', '10.244.0.1:8080,10.244.0.2:8080,10.244.0.3:8080 + 2 more...', '<none>'
    ])
  })

  it('events', () => {
    const t = table('events', [obj('Event', 'web-1.17a', {
      type: 'Warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container\n',
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
      source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: '2025-01-01T11:50:00Z',
      lastTimestamp: '2025-01-01T11:59:30Z',
      count: 4
    })])
    assert.equal(header(t), 'LAST SEEN TYPE REASON OBJECT MESSAGE | SUBOBJECT SOURCE FIRST SEEN COUNT NAME')
    assert.deepEqual(cells(t), ['30s', 'Warning', 'BackOff', 'pod/web-1', 'spec.containers{web}', 'kubelet, n1', 'Back-off restarting failed container', '10m', 4, 'web-1.17a'])
  })

  it('anything else: NAME AGE', () => {
    const t = table('widgets', [obj('Widget', 'w', {}, { creationTimestamp: undefined })])
    assert.equal(header(t), 'NAME AGE')
    assert.deepEqual(cells(t), ['w', '<unknown>'])
  })
})

describe('buildTable: envelope and rows[].object', () => {
  const pod = obj('Pod', 'web-1', { spec: { containers: [] }, status: { phase: 'Running' } }, { labels: { app: 'web' }, generation: 1 })

  it('is a meta.k8s.io/v1 Table at the given resourceVersion, with PartialObjectMetadata by default', () => {
    const t = table('pods', [pod])
    assert.equal(t.kind, 'Table')
    assert.equal(t.apiVersion, 'meta.k8s.io/v1')
    assert.deepEqual(t.metadata, { resourceVersion: '42' })
    assert.deepEqual(t.rows[0]?.object, {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'web-1', namespace: 'default', uid: 'uid-web-1', resourceVersion: '7', creationTimestamp: '2025-01-01T11:55:00Z', labels: { app: 'web' } }
    })
    assert.deepEqual(table('pods', [pod], 'Metadata'), t)
  })

  it('the full object for includeObject=Object, none for None', () => {
    assert.equal(table('pods', [pod], 'Object').rows[0]?.object, pod)
    const none = table('pods', [pod], 'None').rows[0]
    assert.ok(none)
    assert.equal('object' in none, false)
  })

  it('cells line up with the column definitions for every kind', () => {
    for (const resource of ['pods', 'deployments', 'replicasets', 'services', 'nodes', 'namespaces', 'endpoints', 'events', 'configmaps', 'widgets']) {
      const t = table(resource, [obj('X', 'x')])
      assert.equal(cells(t).length, t.columnDefinitions.length, resource)
    }
  })

  it('an empty list keeps the column definitions', () => {
    const t = table('deployments', [])
    assert.deepEqual(t.rows, [])
    assert.equal(t.columnDefinitions.length, 8)
    assert.deepEqual(JSON.parse(JSON.stringify(t)).rows, [])
  })
})
