import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applyStrategicMergePatch } from '@shoal/core/api/index.ts'
import type { JsonRecord } from '@shoal/core/store/merge-patch.ts'
import { isEmptyPatch, threeWayPatch } from './three-way.ts'

/** What the server makes of the patch: core's strategic merge patch, as the API applies it. */
function applied (current: JsonRecord, patch: JsonRecord): JsonRecord {
  const r = applyStrategicMergePatch(current, patch)
  if (!r.ok) throw new Error(r.message)
  return r.value
}

const manifest = (over: { image?: string, port?: number, env?: Array<{ name: string, value: string }>, labels?: Record<string, string>, replicas?: number, sidecar?: boolean } = {}): JsonRecord => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: over.labels ?? { app: 'web' } },
  spec: {
    ...(over.replicas !== undefined ? { replicas: over.replicas } : {}),
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'web', image: over.image ?? 'nginx:1', ports: [{ containerPort: over.port ?? 80 }], ...(over.env !== undefined ? { env: over.env } : {}) },
          ...(over.sidecar === true ? [{ name: 'log', image: 'busybox' }] : [])
        ]
      }
    }
  }
})

/** The live object: the manifest plus what the server and others added. */
function live (m: JsonRecord, extra: { replicas?: number } = {}): JsonRecord {
  const spec = m.spec as JsonRecord
  const template = spec.template as { spec: { containers: JsonRecord[] } }
  return {
    ...m,
    metadata: { ...(m.metadata as JsonRecord), uid: 'u1', resourceVersion: '7', annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: {
      replicas: extra.replicas ?? spec.replicas ?? 1,
      ...spec,
      ...(extra.replicas !== undefined ? { replicas: extra.replicas } : {}),
      strategy: { type: 'RollingUpdate' },
      template: { ...template, spec: { ...template.spec, restartPolicy: 'Always', containers: template.spec.containers.map(c => ({ ...c, imagePullPolicy: 'IfNotPresent' })) } }
    },
    status: { replicas: 1 }
  }
}

describe('threeWayPatch', () => {
  it('is empty when the manifest did not change, whatever the server added', () => {
    const m = manifest({ env: [{ name: 'A', value: '1' }] })
    assert.ok(isEmptyPatch(threeWayPatch(m, m, live(m))))
  })

  it('sets what the manifest changed and keeps the rest of a container (merge by name)', () => {
    const before = manifest()
    const after = manifest({ image: 'nginx:2' })
    const patch = threeWayPatch(before, after, live(before))
    assert.deepEqual(patch, { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } })
    const result = applied(live(before), patch) as any
    assert.equal(result.spec.template.spec.containers[0].image, 'nginx:2')
    assert.equal(result.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'a server default is kept')
    assert.deepEqual(result.spec.template.spec.containers[0].ports, [{ containerPort: 80 }])
  })

  it('deletes a label the last apply set and this one dropped, and keeps one the manifest never had', () => {
    const before = manifest({ labels: { app: 'web', tier: 'front' } })
    const after = manifest({ labels: { app: 'web' } })
    const base = live(before)
    const current = { ...base, metadata: { ...(base.metadata as JsonRecord), labels: { app: 'web', tier: 'front', team: 'ops' } } }
    const patch = threeWayPatch(before, after, current)
    assert.deepEqual(patch, { metadata: { labels: { tier: null } } })
    assert.deepEqual((applied(current, patch).metadata as any).labels, { app: 'web', team: 'ops' })
  })

  it('removes a container and an env var the manifest dropped ($patch: delete by merge key)', () => {
    const before = manifest({ sidecar: true, env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] })
    const after = manifest({ env: [{ name: 'A', value: '1' }] })
    const result = applied(live(before), threeWayPatch(before, after, live(before))) as any
    assert.deepEqual(result.spec.template.spec.containers.map((c: { name: string }) => c.name), ['web'])
    assert.deepEqual(result.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }])
  })

  it('a changed container port replaces the old one (ports merge by containerPort)', () => {
    const before = manifest({ port: 80 })
    const after = manifest({ port: 8080 })
    const result = applied(live(before), threeWayPatch(before, after, live(before))) as any
    assert.deepEqual(result.spec.template.spec.containers[0].ports, [{ containerPort: 8080 }])
  })

  it('leaves a field nobody applied (replicas set by scale) alone, and resets one the manifest sets', () => {
    const unset = manifest()
    assert.ok(isEmptyPatch(threeWayPatch(unset, unset, live(unset, { replicas: 5 }))))
    const set = manifest({ replicas: 2 })
    assert.deepEqual(threeWayPatch(set, set, live(set, { replicas: 5 })), { spec: { replicas: 2 } })
  })

  it('a field removed from the manifest is deleted even with no other change', () => {
    const before = manifest({ replicas: 3 })
    const after = manifest()
    const patch = threeWayPatch(before, after, live(before))
    assert.deepEqual(patch, { spec: { replicas: null } })
  })

  it('without a last-applied manifest, nothing is deleted', () => {
    const before = manifest({ labels: { app: 'web', tier: 'front' } })
    const after = manifest({ labels: { app: 'web' } })
    assert.ok(isEmptyPatch(threeWayPatch(undefined, after, live(before))))
  })

  it('lists without a merge key are replaced whole; Service ports merge by port', () => {
    const cur = { spec: { template: { spec: { containers: [{ name: 'a', image: 'x', args: ['1', '2'] }] } } } }
    const patch = threeWayPatch(cur, { spec: { template: { spec: { containers: [{ name: 'a', image: 'x', args: ['3'] }] } } } }, cur)
    assert.deepEqual(patch, { spec: { template: { spec: { containers: [{ name: 'a', args: ['3'] }] } } } })
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }] } }
    const svcNext = { spec: { ports: [{ port: 80, targetPort: 9090 }] } }
    const result = applied(svc, threeWayPatch({ spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } }, svcNext, svc)) as any
    assert.deepEqual(result.spec.ports, [{ port: 80, targetPort: 9090, protocol: 'TCP' }])
  })

  it('finalizers (a merged scalar list) gain and lose single entries', () => {
    const patch = threeWayPatch({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['a', 'c'] } }, { metadata: { finalizers: ['a', 'b', 'x'] } })
    assert.deepEqual(patch, { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['b'] } })
    assert.deepEqual((applied({ metadata: { finalizers: ['a', 'b', 'x'] } }, patch).metadata as any).finalizers, ['a', 'x', 'c'])
  })

  it('elements without their merge key replace the list', () => {
    const cur = { spec: { volumes: [{ emptyDir: {} }] } }
    const patch = threeWayPatch(undefined, { spec: { volumes: [{ hostPath: { path: '/x' } }] } }, cur)
    assert.deepEqual((applied(cur, patch).spec as any).volumes, [{ hostPath: { path: '/x' } }])
  })

  it('a new nested map is set whole; a null in the manifest deletes', () => {
    assert.deepEqual(threeWayPatch(undefined, { spec: { strategy: { type: 'Recreate' } } }, { spec: {} }), { spec: { strategy: { type: 'Recreate' } } })
    assert.deepEqual(threeWayPatch(undefined, { spec: { paused: null } }, { spec: { paused: true } }), { spec: { paused: null } })
  })
})
