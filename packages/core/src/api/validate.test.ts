import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultObject } from './defaults.ts'
import { formatFieldError, isIP, parseQuantity } from './validate-format.ts'
import { statusForBadFieldValidation, statusForInvalid, validateObject, validateObjectUpdate } from './validate.ts'
import {
  UPDATE_CASES, VALIDATION_CASES, devNamespace, fieldOf, frontendReplicaSet, gameConfig, myEndpoints, nginxDeployment, nginxPod, nginxService,
  spareNode, startedEvent
} from './validate-cases.ts'

type Rec = Record<string, any>

const c0 = (d: Rec): Rec => d.spec.template.spec.containers[0]
const pod = nginxPod

describe('validateObject', () => {
  for (const c of VALIDATION_CASES) {
    it(c.rule, () => {
      const bad = c.base()
      c.change(bad)
      if (c.urlNamespace !== undefined) bad.metadata.namespace = c.urlNamespace
      const errors = validateObject(c.resource, defaultObject(c.resource, bad))
      const lines = errors.map(formatFieldError)
      assert.ok(lines.includes(c.line), `expected\n  ${c.line}\ngot\n  ${lines.join('\n  ')}`)
      assert.ok(errors.some(e => e.field === fieldOf(c)), 'the cause names the field')
      // Each base manifest is valid on its own, so the error comes from the change.
      assert.deepEqual(validateObject(c.resource, defaultObject(c.resource, c.base())), [])
    })
  }

  it('accepts every base manifest (the Kubernetes docs examples) after defaulting', () => {
    const bases: Array<[string, () => Rec]> = [
      ['deployments', nginxDeployment], ['services', nginxService], ['replicasets', frontendReplicaSet], ['pods', nginxPod],
      ['endpoints', myEndpoints], ['events', startedEvent], ['namespaces', devNamespace], ['nodes', spareNode], ['configmaps', gameConfig]
    ]
    for (const [resource, base] of bases) assert.deepEqual(validateObject(resource, defaultObject(resource, base())), [], resource)
  })

  it('accepts the nginx Deployment and Service from the Kubernetes docs after defaulting', () => {
    assert.deepEqual(validateObject('deployments', defaultObject('deployments', nginxDeployment())), [])
    assert.deepEqual(validateObject('services', defaultObject('services', nginxService())), [])
  })

  it('accepts probes, volumes, env and resources that are right', () => {
    const p = pod()
    p.spec.volumes = [{ name: 'cache', emptyDir: {} }, { name: 'host', hostPath: { path: '/var/log' } }]
    Object.assign(p.spec.containers[0], {
      env: [{ name: 'MY_ENV.NAME', value: '1' }],
      resources: { limits: { cpu: '1', memory: '1G' }, requests: { cpu: '0.5', memory: '64Mi' } },
      volumeMounts: [{ name: 'cache', mountPath: '/cache' }, { name: 'host', mountPath: '/logs' }],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      ports: [{ name: 'http', containerPort: 8080 }]
    })
    assert.deepEqual(validateObject('pods', defaultObject('pods', p)), [])
  })

  it('reports every problem, not just the first', () => {
    const d = nginxDeployment()
    d.spec.replicas = -1
    delete c0(d).image
    assert.deepEqual(validateObject('deployments', defaultObject('deployments', d)).map(e => e.field), ['spec.replicas', 'spec.template.spec.containers[0].image'])
  })

  it('does not judge unknown fields: the API drops them first (fields.ts)', () => {
    const d = nginxDeployment()
    d.spec.somethingNew = true
    assert.deepEqual(validateObject('deployments', defaultObject('deployments', d)), [])
  })

  it('takes what Kubernetes takes: zero probe fields, relaxed env names, extended resources, sidecars', () => {
    const p = pod()
    p.spec.initContainers = [{ name: 'log-shipper', image: 'busybox', restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } }]
    Object.assign(p.spec.containers[0], {
      env: [{ name: '1_STARTS_WITH_A_DIGIT', value: 'ok' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      resources: { limits: { 'example.com/gpu': '1', 'hugepages-2Mi': '100Mi', 'ephemeral-storage': '1Gi' } },
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0, successThreshold: 0 },
      readinessProbe: { httpGet: { port: 80 }, successThreshold: 2 }
    })
    assert.deepEqual(validateObject('pods', defaultObject('pods', p)), [])
  })

  it('accepts headless services without ports, and several services forms', () => {
    assert.deepEqual(validateObject('services', defaultObject('services', { metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' } } })), [])
    const lb = nginxService()
    lb.spec.type = 'LoadBalancer'
    lb.spec.ports = [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }]
    lb.spec.clusterIP = '2001:db8::10'
    assert.deepEqual(validateObject('services', defaultObject('services', lb)), [])
  })

  it('lets an event about a cluster-scoped object live in default', () => {
    const e = startedEvent()
    e.involvedObject = { kind: 'Node', name: 'node-1' }
    assert.deepEqual(validateObject('events', defaultObject('events', e)), [])
  })

  it('rejects what is not an object', () => {
    assert.equal(validateObject('pods', 'nope').length, 1)
    assert.equal(validateObject('widgets', {})[0]?.field, 'kind')
  })
})

describe('validateObjectUpdate', () => {
  for (const c of UPDATE_CASES) {
    it(c.rule, () => {
      const old = defaultObject(c.resource, c.base())
      const now = c.base()
      c.change(now)
      const lines = validateObjectUpdate(c.resource, defaultObject(c.resource, now), old).map(formatFieldError)
      assert.ok(lines.includes(c.line), `expected\n  ${c.line}\ngot\n  ${lines.join('\n  ')}`)
      assert.deepEqual(validateObject(c.resource, defaultObject(c.resource, now)), [], 'valid as a new object')
    })
  }

  it('lets a pod change its images, a deployment its template, a service keep its clusterIP', () => {
    const p = defaultObject('pods', nginxPod())
    const p2 = structuredClone(p)
    p2.spec.containers[0].image = 'nginx:1.27'
    p2.spec.activeDeadlineSeconds = 600
    assert.deepEqual(validateObjectUpdate('pods', p2, p), [])
    const d = defaultObject('deployments', nginxDeployment())
    const d2 = structuredClone(d)
    d2.spec.replicas = 5
    c0(d2).image = 'nginx:1.27'
    assert.deepEqual(validateObjectUpdate('deployments', d2, d), [])
    const s: Rec = defaultObject('services', { ...nginxService(), spec: { ...nginxService().spec, clusterIP: '10.96.0.10' } })
    assert.deepEqual(validateObjectUpdate('services', { ...s, metadata: { ...s.metadata, labels: { a: 'b' } } }, s), [])
  })
})

describe('isIP', () => {
  it('reads IPv4 and IPv6 addresses as Go does', () => {
    for (const ok of ['10.9.8.7', '0.0.0.0', '255.255.255.255', '2001:db8::ffff', '::1', '::', 'fe80::1:2:3:4', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8']) assert.equal(isIP(ok), true, ok)
    for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', '1:2:3:4:5:6:7:8:9', '2001:db8::ffff::1', 'web', '1.2.3.4.5', ':::', '12345::']) assert.equal(isIP(bad), false, bad)
  })
})

describe('parseQuantity', () => {
  it('reads cpu and memory quantities', () => {
    assert.equal(parseQuantity('100m'), 0.1)
    assert.equal(parseQuantity('1'), 1)
    assert.equal(parseQuantity('0.5'), 0.5)
    assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20)
    assert.equal(parseQuantity('1G'), 1e9)
    assert.equal(parseQuantity('1e3'), 1000)
    assert.equal(parseQuantity(2), 2)
    for (const bad of ['', 'abc', '1 Gi', '64MB', '1.2.3', 'm']) assert.equal(parseQuantity(bad), undefined, bad)
  })
})

describe('statusForInvalid', () => {
  it('builds the 422 Status kubectl prints', () => {
    const errors = validateObject('deployments', { ...nginxDeployment(), metadata: { name: 'web', namespace: 'default' }, spec: { ...nginxDeployment().spec, replicas: -1 } })
    assert.deepEqual(statusForInvalid('Deployment', 'web', errors), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      reason: 'Invalid',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'Deployment',
        causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' }]
      },
      code: 422
    })
  })

  it('lists several errors in brackets and omits the core group', () => {
    const s = statusForInvalid('Pod', 'p', [
      { field: 'spec.containers[0].image', reason: 'FieldValueRequired', message: 'Required value' },
      { field: 'spec.restartPolicy', reason: 'FieldValueNotSupported', message: 'Unsupported value: "x": supported values: "Always"' }
    ])
    assert.equal(s.message, 'Pod "p" is invalid: [spec.containers[0].image: Required value, spec.restartPolicy: Unsupported value: "x": supported values: "Always"]')
    assert.equal('group' in s.details, false)
  })

  it('answers an unknown fieldValidation value as Kubernetes validates CreateOptions', () => {
    const s = statusForBadFieldValidation('CreateOptions', 'Loose')
    assert.equal(s.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"')
    assert.equal(s.details.group, 'meta.k8s.io')
    assert.deepEqual(s.details.causes.map(c => c.field), ['fieldValidation'])
  })
})
