import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultObject } from './defaults.ts'
import { formatFieldError, parseQuantity, statusForInvalid, validateObject } from './validate.ts'

type Rec = Record<string, any>

/** The nginx-deployment example from the Kubernetes docs (concepts/workloads/controllers/deployment). */
const nginxDeployment = (): Rec => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }] }
    }
  }
})

/** The my-service example from the Kubernetes docs (concepts/services-networking/service), selecting app: nginx. */
const nginxService = (): Rec => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'my-service' },
  spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }] }
})

const pod = (): Rec => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default' },
  spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] }
})

const configMap = (): Rec => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'app.conf': 'x' } })

const tmpl = (d: Rec): Rec => d.spec.template.spec
const c0 = (d: Rec): Rec => tmpl(d).containers[0]

interface Case {
  readonly name: string
  readonly resource: string
  readonly base: () => Rec
  readonly change: (o: Rec) => void
  readonly line: string
}

const cases: Case[] = [
  { name: 'kind must match the resource', resource: 'deployments', base: nginxDeployment, change: o => { o.kind = 'Pod' }, line: 'kind: Unsupported value: "Pod": supported values: "Deployment"' },
  { name: 'apiVersion must match the resource', resource: 'deployments', base: nginxDeployment, change: o => { o.apiVersion = 'apps/v1beta1' }, line: 'apiVersion: Unsupported value: "apps/v1beta1": supported values: "apps/v1"' },
  { name: 'name is required', resource: 'pods', base: pod, change: o => { delete o.metadata.name }, line: 'metadata.name: Required value: name or generateName is required' },
  {
    name: 'name is a DNS subdomain', resource: 'deployments', base: nginxDeployment, change: o => { o.metadata.name = 'Web_1' },
    line: "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
  },
  {
    name: 'service name is a DNS-1035 label', resource: 'services', base: nginxService, change: o => { o.metadata.name = '1web' },
    line: "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
  },
  { name: 'cluster-scoped kinds have no namespace', resource: 'namespaces', base: () => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } }), change: o => { o.metadata.namespace = 'x' }, line: 'metadata.namespace: Forbidden: not allowed on this type' },
  {
    name: 'label keys are qualified names', resource: 'pods', base: pod, change: o => { o.metadata.labels = { 'a/b/c': 'x' } },
    line: "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
  },
  {
    name: 'label values are valid', resource: 'pods', base: pod, change: o => { o.metadata.labels = { app: '-x' } },
    line: "metadata.labels: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
  },
  { name: 'replicas are not negative', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.replicas = -1 }, line: 'spec.replicas: Invalid value: -1: must be greater than or equal to 0' },
  { name: 'replicaset replicas are not negative', resource: 'replicasets', base: () => ({ ...nginxDeployment(), kind: 'ReplicaSet' }), change: o => { o.spec.replicas = -2 }, line: 'spec.replicas: Invalid value: -2: must be greater than or equal to 0' },
  { name: 'selector is required', resource: 'deployments', base: nginxDeployment, change: o => { delete o.spec.selector }, line: 'spec.selector: Required value' },
  { name: 'selector matches the template', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.template.metadata.labels = { app: 'web' } }, line: 'spec.selector: Invalid value: {"matchLabels":{"app":"nginx"}}: selector does not match template labels' },
  { name: 'selector is not empty', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.selector = {} }, line: 'spec.selector: Invalid value: {}: empty selector is invalid for deployment' },
  { name: 'strategy type', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.strategy = { type: 'BlueGreen' } }, line: 'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"' },
  { name: 'maxSurge and maxUnavailable not both 0', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }, line: 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0' },
  { name: 'template is required', resource: 'deployments', base: nginxDeployment, change: o => { delete o.spec.template }, line: 'spec.template: Required value' },
  { name: 'containers are required', resource: 'pods', base: pod, change: o => { o.spec.containers = [] }, line: 'spec.containers: Required value' },
  { name: 'image is required', resource: 'deployments', base: nginxDeployment, change: o => { delete c0(o).image }, line: 'spec.template.spec.containers[0].image: Required value' },
  { name: 'container names are unique', resource: 'deployments', base: nginxDeployment, change: o => { tmpl(o).containers.push({ name: 'nginx', image: 'busybox' }) }, line: 'spec.template.spec.containers[1].name: Duplicate value: "nginx"' },
  { name: 'container names are unique across init containers', resource: 'pods', base: pod, change: o => { o.spec.initContainers = [{ name: 'web', image: 'busybox' }] }, line: 'spec.initContainers[0].name: Duplicate value: "web"' },
  { name: 'container ports are 1-65535', resource: 'deployments', base: nginxDeployment, change: o => { c0(o).ports[0].containerPort = 70000 }, line: 'spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive' },
  { name: 'container port is required', resource: 'pods', base: pod, change: o => { o.spec.containers[0].ports = [{ name: 'http' }] }, line: 'spec.containers[0].ports[0].containerPort: Required value' },
  { name: 'restartPolicy', resource: 'pods', base: pod, change: o => { o.spec.restartPolicy = 'Sometimes' }, line: 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' },
  { name: 'deployment pods restart Always', resource: 'deployments', base: nginxDeployment, change: o => { tmpl(o).restartPolicy = 'Never' }, line: 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' },
  { name: 'imagePullPolicy', resource: 'pods', base: pod, change: o => { o.spec.containers[0].imagePullPolicy = 'Sometimes' }, line: 'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"' },
  { name: 'cpu quantity parses', resource: 'pods', base: pod, change: o => { o.spec.containers[0].resources = { limits: { cpu: 'lots' } } }, line: "spec.containers[0].resources.limits[cpu]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" },
  { name: 'memory quantity parses', resource: 'pods', base: pod, change: o => { o.spec.containers[0].resources = { requests: { memory: '64MB' } } }, line: "spec.containers[0].resources.requests[memory]: Invalid value: \"64MB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" },
  { name: 'requests do not exceed limits', resource: 'pods', base: pod, change: o => { o.spec.containers[0].resources = { limits: { cpu: '500m' }, requests: { cpu: 1 } } }, line: 'spec.containers[0].resources.requests[cpu]: Invalid value: 1: must be less than or equal to cpu limit of 500m' },
  {
    name: 'env names', resource: 'pods', base: pod, change: o => { o.spec.containers[0].env = [{ name: '1BAD', value: 'x' }] },
    line: "spec.containers[0].env[0].name: Invalid value: \"1BAD\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
  },
  { name: 'volume names are unique', resource: 'pods', base: pod, change: o => { o.spec.volumes = [{ name: 'data', emptyDir: {} }, { name: 'data', hostPath: { path: '/tmp' } }] }, line: 'spec.volumes[1].name: Duplicate value: "data"' },
  { name: 'a volume has a source', resource: 'pods', base: pod, change: o => { o.spec.volumes = [{ name: 'data' }] }, line: 'spec.volumes[0]: Required value: must specify a volume type' },
  { name: 'a volume has one source', resource: 'pods', base: pod, change: o => { o.spec.volumes = [{ name: 'data', emptyDir: {}, hostPath: { path: '/x' } }] }, line: 'spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type' },
  { name: 'hostPath has a path', resource: 'pods', base: pod, change: o => { o.spec.volumes = [{ name: 'data', hostPath: {} }] }, line: 'spec.volumes[0].hostPath.path: Required value' },
  { name: 'volume mounts name a volume', resource: 'pods', base: pod, change: o => { o.spec.containers[0].volumeMounts = [{ name: 'cache', mountPath: '/cache' }] }, line: 'spec.containers[0].volumeMounts[0].name: Not found: "cache"' },
  { name: 'probes have a handler', resource: 'pods', base: pod, change: o => { o.spec.containers[0].livenessProbe = { periodSeconds: 5 } }, line: 'spec.containers[0].livenessProbe: Required value: must specify a handler type' },
  { name: 'probes have one handler', resource: 'pods', base: pod, change: o => { o.spec.containers[0].readinessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 } } }, line: 'spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type' },
  { name: 'probe ports are valid', resource: 'pods', base: pod, change: o => { o.spec.containers[0].livenessProbe = { tcpSocket: { port: 0 } } }, line: 'spec.containers[0].livenessProbe.tcpSocket.port: Required value' },
  { name: 'service ports are required', resource: 'services', base: nginxService, change: o => { o.spec.ports = [] }, line: 'spec.ports: Required value' },
  { name: 'service ports are 1-65535', resource: 'services', base: nginxService, change: o => { o.spec.ports[0].port = 65536 }, line: 'spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive' },
  { name: 'service ports are unique', resource: 'services', base: nginxService, change: o => { o.spec.ports = [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }, line: 'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}' },
  { name: 'service port names are unique', resource: 'services', base: nginxService, change: o => { o.spec.ports = [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }, line: 'spec.ports[1].name: Duplicate value: "a"' },
  { name: 'several service ports are named', resource: 'services', base: nginxService, change: o => { o.spec.ports = [{ name: 'a', port: 80 }, { port: 81 }] }, line: 'spec.ports[1].name: Required value' },
  { name: 'service type', resource: 'services', base: nginxService, change: o => { o.spec.type = 'ExternalName' }, line: 'spec.type: Unsupported value: "ExternalName": supported values: "ClusterIP", "NodePort", "LoadBalancer"' },
  { name: 'nodePort range', resource: 'services', base: nginxService, change: o => { o.spec.type = 'NodePort'; o.spec.ports[0].nodePort = 8080 }, line: 'spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767' },
  { name: 'nodePort needs a NodePort service', resource: 'services', base: nginxService, change: o => { o.spec.ports[0].nodePort = 30080 }, line: "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" },
  { name: 'sessionAffinity', resource: 'services', base: nginxService, change: o => { o.spec.sessionAffinity = 'Sticky' }, line: 'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"' },
  {
    name: 'config map keys', resource: 'configmaps', base: configMap, change: o => { o.data = { 'a b': 'x' } },
    line: "data: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
  }
]

describe('validateObject', () => {
  for (const c of cases) {
    it(c.name, () => {
      const bad = c.base()
      c.change(bad)
      const lines = validateObject(c.resource, defaultObject(c.resource, bad)).map(formatFieldError)
      assert.ok(lines.includes(c.line), `expected\n  ${c.line}\ngot\n  ${lines.join('\n  ')}`)
      // Each base manifest is valid on its own, so the error comes from the change.
      assert.deepEqual(validateObject(c.resource, defaultObject(c.resource, c.base())), [])
    })
  }

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

  it('keeps unknown fields (fieldValidation=Ignore)', () => {
    const d = nginxDeployment()
    d.spec.somethingNew = true
    const out = defaultObject('deployments', d)
    assert.equal(out.spec.somethingNew, true)
    assert.deepEqual(validateObject('deployments', out), [])
  })

  it('rejects what is not an object', () => {
    assert.equal(validateObject('pods', 'nope').length, 1)
    assert.equal(validateObject('widgets', {})[0]?.field, 'kind')
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
})
