import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultObject, defaultPullPolicy } from './defaults.ts'

type Rec = Record<string, any>

const deepFreeze = <T>(o: T): T => {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

describe('defaultObject', () => {
  it('fills Pod spec and container defaults', () => {
    const pod: Rec = defaultObject('pods', {
      metadata: { name: 'p' },
      spec: {
        containers: [{
          name: 'c',
          image: 'nginx',
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 }
        }]
      }
    })
    assert.equal(pod.apiVersion, 'v1')
    assert.equal(pod.kind, 'Pod')
    assert.equal(pod.metadata.namespace, 'default')
    assert.equal(pod.spec.restartPolicy, 'Always')
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30)
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst')
    const c = pod.spec.containers[0]
    assert.equal(c.imagePullPolicy, 'Always')
    assert.equal(c.terminationMessagePath, '/dev/termination-log')
    assert.equal(c.ports[0].protocol, 'TCP')
    assert.deepEqual(c.livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 })
    assert.equal(c.readinessProbe.periodSeconds, 5, 'a given value is kept')
  })

  it('chooses imagePullPolicy from the tag', () => {
    assert.equal(defaultPullPolicy('nginx'), 'Always')
    assert.equal(defaultPullPolicy('nginx:latest'), 'Always')
    assert.equal(defaultPullPolicy('registry:5000/nginx'), 'Always')
    assert.equal(defaultPullPolicy('registry:5000/nginx:1.27'), 'IfNotPresent')
    assert.equal(defaultPullPolicy('nginx@sha256:abc'), 'IfNotPresent')
  })

  it('fills Deployment defaults and its pod template', () => {
    const d: Rec = defaultObject('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', creationTimestamp: null, generation: 0 },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } }, strategy: {} }
    })
    assert.deepEqual(d.metadata, { name: 'web', namespace: 'default' }, 'protobuf zero values dropped')
    assert.equal(d.spec.replicas, 1)
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } })
    assert.equal(d.spec.revisionHistoryLimit, 10)
    assert.equal(d.spec.progressDeadlineSeconds, 600)
    assert.equal(d.spec.template.spec.restartPolicy, 'Always')
    assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent')
  })

  it('leaves a Recreate strategy without rollingUpdate', () => {
    const d: Rec = defaultObject('deployments', { metadata: { name: 'web' }, spec: { strategy: { type: 'Recreate' } } })
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' })
  })

  it('fills ReplicaSet replicas', () => {
    const rs: Rec = defaultObject('replicasets', { metadata: { name: 'rs' }, spec: { template: { spec: { containers: [] } } } })
    assert.equal(rs.apiVersion, 'apps/v1')
    assert.equal(rs.spec.replicas, 1)
    assert.equal(rs.spec.template.spec.dnsPolicy, 'ClusterFirst')
  })

  it('fills Service defaults', () => {
    const s: Rec = defaultObject('services', { metadata: { name: 's', namespace: 'prod' }, spec: { ports: [{ port: 80 }, { port: 443, targetPort: 'https', protocol: 'TCP' }] } })
    assert.equal(s.metadata.namespace, 'prod')
    assert.equal(s.spec.type, 'ClusterIP')
    assert.equal(s.spec.sessionAffinity, 'None')
    assert.deepEqual(s.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }, { port: 443, targetPort: 'https', protocol: 'TCP' }])
  })

  it('treats Go zero values as unset, as Kubernetes defaulting does, but keeps zero pointer fields', () => {
    const p: Rec = defaultObject('pods', {
      metadata: { name: 'p' },
      spec: {
        restartPolicy: '',
        dnsPolicy: '',
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'c', image: 'nginx:1.27', imagePullPolicy: '', ports: [{ containerPort: 80, protocol: '' }], livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0, initialDelaySeconds: 0 } }],
        volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }]
      }
    })
    assert.equal(p.spec.restartPolicy, 'Always')
    assert.equal(p.spec.dnsPolicy, 'ClusterFirst')
    assert.equal(p.spec.terminationGracePeriodSeconds, 0, 'a pointer field keeps its 0')
    const c = p.spec.containers[0]
    assert.equal(c.imagePullPolicy, 'IfNotPresent')
    assert.equal(c.ports[0].protocol, 'TCP')
    assert.deepEqual(c.livenessProbe, { tcpSocket: { port: 80 }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, initialDelaySeconds: 0 })
    assert.deepEqual(p.spec.volumes[0].hostPath, { path: '/var/log', type: '' })
    const d: Rec = defaultObject('deployments', { metadata: { name: 'd' }, spec: { replicas: 0, strategy: { type: '' } } })
    assert.equal(d.spec.replicas, 0)
    assert.equal(d.spec.strategy.type, 'RollingUpdate')
    const s: Rec = defaultObject('services', { metadata: { name: 's' }, spec: { type: '', ports: [{ port: 80, targetPort: 0 }, { port: 81, targetPort: '' }] } })
    assert.equal(s.spec.type, 'ClusterIP')
    assert.deepEqual(s.spec.ports.map((p: Rec) => p.targetPort), [80, 81])
  })

  it('fills Endpoints port protocols', () => {
    const e: Rec = defaultObject('endpoints', { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] }] })
    assert.deepEqual(e.subsets[0].ports, [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }])
    assert.equal(e.metadata.namespace, 'default')
  })

  it('gives cluster-scoped kinds no namespace', () => {
    const n: Rec = defaultObject('namespaces', { metadata: { name: 'dev' } })
    assert.deepEqual(n, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } })
  })

  it('never mutates its input (which may be frozen)', () => {
    const input = deepFreeze({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } })
    const before = JSON.stringify(input)
    const out: Rec = defaultObject('pods', input)
    assert.equal(JSON.stringify(input), before)
    assert.notEqual(out.spec, input.spec)
  })

  it('keeps unknown fields and status, and leaves wrongly typed fields for validation', () => {
    const p: Rec = defaultObject('pods', { metadata: { name: 'p' }, spec: 'nope', status: {}, extra: { a: 1 } })
    assert.equal(p.spec, 'nope')
    assert.deepEqual(p.status, {})
    assert.deepEqual(p.extra, { a: 1 })
  })
})
