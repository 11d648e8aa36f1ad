import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applyStrategicMergePatch } from './strategic-merge.ts'
import { deepFreeze } from '../store/merge-patch.ts'

function deployment (containers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...extra } } }
  }
}

const web = { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }] }

function apply (original: unknown, patch: unknown): unknown {
  const r = applyStrategicMergePatch(deepFreeze(original), deepFreeze(patch))
  assert.ok(r.ok, r.ok ? '' : r.message)
  return r.value
}

describe('applyStrategicMergePatch', () => {
  it('kubectl apply (§3.4): new image and replicas keep the container ports', () => {
    const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment"}\n'
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
      spec: {
        replicas: 3,
        template: { spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ image: 'nginx:1.27', name: 'web' }] } }
      }
    }
    const want = deployment([{ ...web, image: 'nginx:1.27' }])
    Object.assign(want['spec'] as object, { replicas: 3 })
    Object.assign((want['metadata'] as { annotations: object }).annotations, { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied })
    assert.deepEqual(apply(deployment([web]), patch), want)
  })

  const cases: Array<{ name: string, containers: unknown[], extra?: Record<string, unknown>, patch: unknown, want: unknown[], wantExtra?: Record<string, unknown> }> = [
    {
      name: 'kubectl set image (§3.6) touches only the named container',
      containers: [{ name: 'nginx', image: 'nginx:1.25' }, { name: 'side', image: 'busybox' }],
      patch: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'side' }], containers: [{ image: 'nginx:1.27', name: 'nginx' }] },
      want: [{ name: 'nginx', image: 'nginx:1.27' }, { name: 'side', image: 'busybox' }]
    },
    {
      name: 'env merges by name: changes one, keeps one, adds one',
      containers: [{ name: 'web', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
      patch: { containers: [{ name: 'web', env: [{ name: 'B', value: '20' }, { name: 'C', value: '3' }] }] },
      want: [{ name: 'web', env: [{ name: 'A', value: '1' }, { name: 'B', value: '20' }, { name: 'C', value: '3' }] }]
    },
    {
      name: 'container ports merge by containerPort',
      containers: [{ name: 'web', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }],
      patch: { containers: [{ name: 'web', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090 }] }] },
      want: [{ name: 'web', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 443 }, { containerPort: 9090 }] }]
    },
    {
      name: '$patch: delete removes one container',
      containers: [{ name: 'web', image: 'a' }, { name: 'side', image: 'b' }],
      patch: { containers: [{ name: 'side', $patch: 'delete' }] },
      want: [{ name: 'web', image: 'a' }]
    },
    {
      name: '$patch: replace replaces the whole list',
      containers: [{ name: 'web', image: 'a', ports: [{ containerPort: 80 }] }, { name: 'side', image: 'b' }],
      patch: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'c' }] },
      want: [{ name: 'only', image: 'c' }]
    },
    {
      name: 'null deletes a map key; $patch: delete drops a whole map',
      containers: [{ name: 'web', image: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } }, securityContext: { runAsUser: 1 } }],
      patch: { containers: [{ name: 'web', resources: { limits: { cpu: null } }, securityContext: { $patch: 'delete' } }] },
      want: [{ name: 'web', image: 'a', resources: { limits: { memory: '1Gi' } } }]
    },
    {
      name: '$patch: replace on a map replaces it without the directive',
      containers: [{ name: 'web', resources: { limits: { cpu: '1' }, requests: { cpu: '1' } } }],
      patch: { containers: [{ name: 'web', resources: { $patch: 'replace', limits: { memory: '2Gi' } } }] },
      want: [{ name: 'web', resources: { limits: { memory: '2Gi' } } }]
    },
    {
      name: '$deleteFromPrimitiveList removes values from args',
      containers: [{ name: 'web', args: ['--a', '--b', '--c', '--b'] }],
      patch: { containers: [{ name: 'web', '$deleteFromPrimitiveList/args': ['--b'] }] },
      want: [{ name: 'web', args: ['--a', '--c'] }]
    },
    {
      name: 'lists without a merge key (args) are replaced',
      containers: [{ name: 'web', args: ['--a', '--b'] }],
      patch: { containers: [{ name: 'web', args: ['--z'] }] },
      want: [{ name: 'web', args: ['--z'] }]
    },
    {
      name: 'volumes merge by name, volumeMounts by mountPath; $retainKeys is ignored',
      containers: [{ name: 'web', volumeMounts: [{ mountPath: '/a', name: 'v1' }] }],
      extra: { volumes: [{ name: 'v1', emptyDir: {} }] },
      patch: {
        containers: [{ name: 'web', volumeMounts: [{ mountPath: '/a', readOnly: true }, { mountPath: '/b', name: 'v2' }] }],
        volumes: [{ name: 'v2', $retainKeys: ['name', 'configMap'], configMap: { name: 'cm' } }]
      },
      want: [{ name: 'web', volumeMounts: [{ mountPath: '/a', name: 'v1', readOnly: true }, { mountPath: '/b', name: 'v2' }] }],
      wantExtra: { volumes: [{ name: 'v1', emptyDir: {} }, { name: 'v2', configMap: { name: 'cm' } }] }
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const got = apply(deployment(c.containers, c.extra), { spec: { template: { spec: c.patch } } })
      assert.deepEqual(got, deployment(c.want, c.wantExtra ?? c.extra))
    })
  }

  it('Service ports merge by port', () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 443, targetPort: 8443 }] } }
    assert.deepEqual(apply(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }),
      { spec: { ports: [{ port: 80, targetPort: 9090, protocol: 'TCP' }, { port: 443, targetPort: 8443 }] } })
  })

  it('finalizers are a set; other primitive lists are replaced', () => {
    assert.deepEqual(apply({ metadata: { finalizers: ['a'] }, x: [1, 2] }, { metadata: { finalizers: ['b', 'a'] }, x: [3] }),
      { metadata: { finalizers: ['a', 'b'] }, x: [3] })
  })

  it('new keyed elements and new maps come without directives or nulls', () => {
    assert.deepEqual(apply({}, { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: 'y', valueFrom: null }] }], m: { a: null, b: 1 } } }),
      { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: 'y' }] }], m: { b: 1 } } })
  })

  it('never mutates its inputs', () => {
    const original = deployment([web])
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', image: 'x' }] } } } }
    const before = structuredClone(original)
    const r = applyStrategicMergePatch(original, patch)
    assert.ok(r.ok)
    assert.deepEqual(original, before)
    assert.deepEqual(patch, { spec: { template: { spec: { containers: [{ name: 'web', image: 'x' }] } } } })
  })

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /must be a JSON object/],
    ['unknown $patch', { spec: { $patch: 'explode' } }, /unknown \$patch directive "explode"/],
    ['element without merge key', { spec: { containers: [{ image: 'x' }] } }, /containers does not contain its merge key name/],
    ['$deleteFromPrimitiveList not a list', { '$deleteFromPrimitiveList/args': 'x' }, /must be a list/]
  ]
  for (const [name, patch, re] of bad) {
    it(`rejects: ${name}`, () => {
      const r = applyStrategicMergePatch({ spec: {} }, patch)
      assert.equal(r.ok, false)
      assert.match(r.ok ? '' : r.message, re)
    })
  }
})
