import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dropUnknownFields, fieldValidationDirective, schemaFor, strictDecodingMessage, unknownFieldMessage, warningHeader } from './fields.ts'
import { KINDS } from './kinds.ts'
import { applyStrategicMergePatch } from './strategic-merge.ts'
import { frontendReplicaSet, gameConfig, myEndpoints, nginxDeployment, nginxPod, nginxService, spareNode, startedEvent, devNamespace } from './validate-cases.ts'

type Rec = Record<string, any>

/**
 * A Deployment that uses much of what Kubernetes has, most of which Shoal does
 * not model: every field must survive, since Strict must not fail it and the
 * default must not drop any of it.
 */
const richDeployment = (): Rec => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'prod',
    labels: { 'app.kubernetes.io/name': 'web' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1"}\n', 'example.com/any': 'x' },
    finalizers: ['example.com/keep']
  },
  spec: {
    replicas: 2,
    revisionHistoryLimit: 3,
    minReadySeconds: 5,
    progressDeadlineSeconds: 120,
    paused: false,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'web', tier: 'front' }, annotations: { 'prometheus.io/scrape': 'true' } },
      spec: {
        serviceAccountName: 'web',
        securityContext: { runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { tier: 'front' } } } }] } },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { tier: 'front' } } }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        imagePullSecrets: [{ name: 'registry' }],
        hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }],
        dnsConfig: { options: [{ name: 'ndots', value: '2' }] },
        priorityClassName: 'high',
        initContainers: [{ name: 'migrate', image: 'web:1.0', command: ['./migrate'], envFrom: [{ configMapRef: { name: 'web' } }] }],
        containers: [{
          name: 'web',
          image: 'registry.example.com/web:1.0',
          imagePullPolicy: 'IfNotPresent',
          command: ['/web'],
          args: ['--port=8080'],
          workingDir: '/srv',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP', hostIP: '0.0.0.0', hostPort: 8080 }],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: false } } },
            { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } }
          ],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'web' } }, { secretRef: { name: 'web' } }],
          resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }, { name: 'config', mountPath: '/etc/web', readOnly: true, subPath: 'web.conf' }],
          livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, initialDelaySeconds: 3, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1 },
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
          startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, failureThreshold: 30, periodSeconds: 2 },
          lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
          terminationMessagePolicy: 'FallbackToLogsOnError',
          stdin: false,
          tty: false
        }],
        volumes: [
          { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          { name: 'config', configMap: { name: 'web', items: [{ key: 'web.conf', path: 'web.conf', mode: 0o644 }], defaultMode: 0o644 } },
          { name: 'logs', hostPath: { path: '/var/log/web', type: 'DirectoryOrCreate' } },
          { name: 'certs', secret: { secretName: 'tls', optional: true } },
          { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }
        ],
        terminationGracePeriodSeconds: 45,
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst'
      }
    }
  },
  status: { observedGeneration: 1, replicas: 2, conditions: [{ type: 'Available', status: 'True', anything: 'kept' }] }
})

describe('dropUnknownFields', () => {
  it('keeps every field of the docs examples and of a manifest that uses much of Kubernetes', () => {
    const cases: Array<[string, Rec]> = [
      ['deployments', nginxDeployment()], ['deployments', richDeployment()], ['services', nginxService()], ['replicasets', frontendReplicaSet()],
      ['pods', nginxPod()], ['endpoints', myEndpoints()], ['events', startedEvent()], ['namespaces', devNamespace()], ['nodes', spareNode()],
      ['configmaps', gameConfig()]
    ]
    for (const [resource, obj] of cases) {
      const r = dropUnknownFields(resource, obj)
      assert.deepEqual(r.unknown, [], resource)
      assert.deepEqual(r.object, obj, resource)
    }
  })

  it('drops unknown fields and names them as Kubernetes does', () => {
    const d = nginxDeployment()
    d.spec.replica = 3
    d.spec.template.spec.containers[0].imagePullPolicyy = 'Always'
    d.spec.template.spec.containers[0].ports[0].containerport = 80
    d.spec.template.spec.volumes = [{ name: 'x', emptyDir: {}, emtpyDir: {} }]
    d.metadata.label = { a: 'b' }
    d.extra = true
    const before = structuredClone(d)
    const r = dropUnknownFields('deployments', d)
    assert.deepEqual([...r.unknown].sort(), [
      'extra',
      'metadata.label',
      'spec.replica',
      'spec.template.spec.containers[0].imagePullPolicyy',
      'spec.template.spec.containers[0].ports[0].containerport',
      'spec.template.spec.volumes[0].emtpyDir'
    ])
    const want = nginxDeployment()
    want.spec.template.spec.volumes = [{ name: 'x', emptyDir: {} }]
    assert.deepEqual(r.object, want)
    assert.deepEqual(d, before, 'the input is not touched')
  })

  it('keeps what Shoal does not model as given, unknown fields and all', () => {
    const p = nginxPod()
    p.spec.affinity = { nodeAffinity: { somethingFuture: 1 } }
    p.status = { phase: 'Running', future: true }
    p.metadata.annotations = { a: 'b' }
    const r = dropUnknownFields('pods', p)
    assert.deepEqual(r.unknown, [])
    assert.deepEqual(r.object, p)
  })

  it('leaves values of the wrong type for validation to report', () => {
    const r = dropUnknownFields('deployments', { spec: { template: 'nope', selector: [] } })
    assert.deepEqual(r, { object: { spec: { template: 'nope', selector: [] } }, unknown: [] })
    assert.deepEqual(dropUnknownFields('pods', 'text'), { object: 'text', unknown: [] })
  })

  it('has a schema for every kind Shoal serves', () => {
    for (const k of KINDS) assert.notEqual(schemaFor(k.resource), undefined, k.resource)
    assert.equal(schemaFor('widgets'), undefined)
    assert.deepEqual(dropUnknownFields('widgets', { a: 1 }), { object: { a: 1 }, unknown: [] })
  })

  it('sees no unknown field in what kubectl apply and expose send', () => {
    // kubectl expose (kubernetes-api.md §3.7): creationTimestamp null and an empty status.
    const expose = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { creationTimestamp: null, labels: { app: 'first-app' }, name: 'first-app' },
      spec: { ports: [{ port: 8080, protocol: 'TCP', targetPort: 8080 }], selector: { app: 'first-app' }, type: 'LoadBalancer' },
      status: { loadBalancer: {} }
    }
    assert.deepEqual(dropUnknownFields('services', expose).unknown, [])
    // The second apply's strategic merge patch (§3.4): its directives are gone from the result.
    const patched = applyStrategicMergePatch({ ...nginxDeployment(), metadata: { name: 'nginx-deployment', namespace: 'default', uid: 'u', resourceVersion: '7', generation: 1, creationTimestamp: '2025-01-01T00:00:00Z' } }, {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' } },
      spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ image: 'nginx:1.27', name: 'nginx' }] } } }
    })
    assert.ok(patched.ok)
    if (patched.ok) assert.deepEqual(dropUnknownFields('deployments', patched.value).unknown, [])
  })
})

describe('fieldValidation', () => {
  it('reads the directive, Warn when absent as in Kubernetes 1.23+', () => {
    assert.equal(fieldValidationDirective(null), 'Warn')
    assert.equal(fieldValidationDirective(''), 'Warn')
    assert.equal(fieldValidationDirective('Strict'), 'Strict')
    assert.equal(fieldValidationDirective('Ignore'), 'Ignore')
    assert.equal(fieldValidationDirective('Warn'), 'Warn')
    assert.equal(fieldValidationDirective('strict'), undefined)
  })

  it('words the Strict error as the apiserver does', () => {
    assert.equal(strictDecodingMessage('deployments', nginxDeployment(), ['spec.replica', 'spec.template.spec.containers[0].imagePullPolicyy']),
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolicyy"')
    assert.equal(strictDecodingMessage('pods', nginxPod(), ['foo']), 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "foo"')
    assert.equal(strictDecodingMessage('pods', { metadata: {} }, ['foo']), 'the object provided is unrecognized (must be of type Pod): strict decoding error: unknown field "foo"')
  })

  it('writes Warning headers as RFC 7234 quoted strings', () => {
    assert.equal(unknownFieldMessage('spec.foo'), 'unknown field "spec.foo"')
    assert.equal(warningHeader(unknownFieldMessage('spec.foo')), '299 - "unknown field \\"spec.foo\\""')
    assert.equal(warningHeader('a\\b'), '299 - "a\\\\b"')
  })
})
