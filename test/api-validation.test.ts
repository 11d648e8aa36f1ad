import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kindForResource, qualifiedKind } from '@shoal/core/api/kinds.ts'
import {
  UPDATE_CASES, VALIDATION_CASES, devNamespace, frontendReplicaSet, gameConfig, myEndpoints, nginxDeployment, nginxPod, nginxService,
  spareNode, startedEvent, type Manifest, type ValidationCase
} from '@shoal/core/api/validate-cases.ts'
import { AgentProcess, scratchDir, API_ONLY } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * Every validation rule, through the real API of a real agent: a bad manifest
 * POSTed, PUT or PATCHed gets Kubernetes' 422 `Invalid` Status naming the
 * field, and nothing is written (the object is absent or unchanged, the
 * store's resourceVersion has not moved, and a watch from before sees no
 * event). Unknown fields go as in Kubernetes: dropped by default (Warn) and
 * with Ignore, a 400 with Strict. The rules themselves are the shared table
 * in packages/core/src/api/validate-cases.ts, which the unit tests run too.
 */

type Json = Record<string, any>

const haveKubectl = await new Promise<boolean>(resolve => execFile('kubectl', ['version', '--client'], err => resolve(err === null)))

/** The namespace the namespaced objects of these tests live in; nothing else writes there. */
const NS = 'validation'

/** The collection path of a resource: `/apis/apps/v1/namespaces/NS/deployments`. */
function collection (resource: string, namespace = NS): string {
  const k = kindForResource(resource)
  if (k === undefined) throw new Error(`no kind for ${resource}`)
  const prefix = k.group === '' ? '/api/v1' : `/apis/${k.group}/v1`
  return k.namespaced ? `${prefix}/namespaces/${namespace}/${resource}` : `${prefix}/${resource}`
}

const item = (resource: string, name: string, namespace = NS): string => `${collection(resource, namespace)}/${encodeURIComponent(name)}`

const BASES: Record<string, () => Manifest> = {
  deployments: nginxDeployment,
  replicasets: frontendReplicaSet,
  pods: nginxPod,
  services: nginxService,
  endpoints: myEndpoints,
  events: () => ({ ...startedEvent(), metadata: { name: startedEvent().metadata.name }, involvedObject: { ...startedEvent().involvedObject, namespace: NS } }),
  namespaces: devNamespace,
  nodes: spareNode,
  configmaps: gameConfig
}

/** A case's base as sent to this test's namespace (events name their object's namespace). */
function baseOf (c: { resource: string, base: () => Manifest }): Manifest {
  const o = c.base()
  if (c.resource === 'events') o.involvedObject.namespace = NS
  if (o.metadata?.namespace === 'default') delete o.metadata.namespace
  return o
}

function badOf (c: ValidationCase): Manifest {
  const o = baseOf(c)
  c.change(o)
  return o
}

/** A JSON Patch (RFC 6902) that turns `from` into `to`, one op per differing top-level and metadata field. */
function jsonPatch (from: Json, to: Json): Json[] {
  const ops: Json[] = []
  const diff = (a: Json, b: Json, prefix: string): void => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (prefix === '' && key === 'metadata' && typeof b.metadata === 'object') { diff(a.metadata ?? {}, b.metadata, '/metadata'); continue }
      if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue
      const path = `${prefix}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      ops.push(key in b ? { op: 'add', path, value: b[key] } : { op: 'remove', path })
    }
  }
  diff(from, to, '')
  return ops
}

describe('validation through the API: every rule answers 422 and writes nothing', () => {
  const scratch = scratchDir('val')
  const a = new AgentProcess(scratch.path, 'val-1', '127.0.0.137')

  /** The stored objects the update cases start from, by resource, as last read. */
  const stored: Record<string, Json> = {}

  const listRv = async (resource: string, namespace = NS): Promise<string> => (await a.getJson(collection(resource, namespace))).metadata.resourceVersion

  /** The store's resourceVersion once it stops moving (agent start-up writes its node and namespaces). */
  const settledRv = async (): Promise<string> => {
    let last = ''
    return await waitFor('a settled store', async () => {
      const rv = await listRv('configmaps')
      const same = rv === last
      last = rv
      return same ? rv : undefined
    }, { timeoutMs: 30_000, intervalMs: 500 })
  }

  /** The events a watch of `resource` from `rv` delivers within 1 s (the watch ends at timeoutSeconds). */
  const eventsSince = async (resource: string, rv: string, namespace = NS): Promise<Json[]> => {
    const res = await a.request('GET', `${collection(resource, namespace)}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, { timeoutMs: 15_000 })
    assert.equal(res.status, 200, res.text)
    return res.text.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l) as Json)
  }

  /** The 422 Kubernetes answers for `line` about `kind` `name`. */
  const assertInvalid = (res: { status: number, text: string }, resource: string, name: string, line: string): void => {
    assert.equal(res.status, 422, res.text)
    const s = JSON.parse(res.text) as Json
    const k = kindForResource(resource)!
    assert.equal(s.kind, 'Status')
    assert.equal(s.status, 'Failure')
    assert.equal(s.reason, 'Invalid')
    assert.equal(s.code, 422)
    assert.ok(s.message.startsWith(`${qualifiedKind(k)} ${JSON.stringify(name)} is invalid: `), s.message)
    assert.ok(s.message.includes(line), `the message names the field and the rule:\n  ${line}\nin\n  ${s.message}`)
    assert.equal(s.details.kind, k.kind)
    assert.equal(s.details.name, name)
    const field = line.slice(0, line.indexOf(': '))
    assert.ok(s.details.causes.some((c: Json) => c.field === field && `${c.field}: ${c.message}` === line), `details.causes has ${field}: ${JSON.stringify(s.details.causes)}`)
  }

  before(async () => {
    await a.start(API_ONLY)
    const ns = await a.request('POST', '/api/v1/namespaces', { json: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } })
    assert.equal(ns.status, 201, ns.text)
  })

  after(async () => {
    await a.destroy()
    scratch.remove()
  })

  describe('a good manifest of each kind is accepted, with its defaults', () => {
    const defaults: Record<string, (o: Json) => void> = {
      deployments: o => {
        assert.equal(o.spec.replicas, 3)
        assert.deepEqual(o.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } })
        assert.equal(o.spec.revisionHistoryLimit, 10)
        assert.equal(o.spec.progressDeadlineSeconds, 600)
        const t = o.spec.template.spec
        assert.equal(t.restartPolicy, 'Always')
        assert.equal(t.dnsPolicy, 'ClusterFirst')
        assert.equal(t.terminationGracePeriodSeconds, 30)
        assert.equal(t.containers[0].imagePullPolicy, 'IfNotPresent')
        assert.equal(t.containers[0].ports[0].protocol, 'TCP')
        assert.equal(t.containers[0].terminationMessagePath, '/dev/termination-log')
        assert.equal(o.metadata.generation, 1)
      },
      replicasets: o => {
        assert.equal(o.spec.template.spec.restartPolicy, 'Always')
        assert.equal(o.spec.template.spec.containers[0].terminationMessagePolicy, 'File')
      },
      pods: o => {
        assert.equal(o.spec.restartPolicy, 'Always')
        assert.equal(o.spec.containers[0].imagePullPolicy, 'IfNotPresent')
        assert.deepEqual(o.status, { phase: 'Pending' })
      },
      services: o => {
        assert.equal(o.spec.type, 'ClusterIP')
        assert.equal(o.spec.sessionAffinity, 'None')
        assert.deepEqual(o.spec.ports, [{ protocol: 'TCP', port: 80, targetPort: 9376 }])
      },
      endpoints: o => { assert.deepEqual(o.subsets[0].ports, [{ port: 9376, protocol: 'TCP' }]) },
      events: o => { assert.equal(o.involvedObject.name, 'nginx') },
      namespaces: o => { assert.equal(o.metadata.namespace, undefined) },
      nodes: o => { assert.deepEqual(o.spec.taints, [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }]) },
      configmaps: o => { assert.equal(o.data.player_initial_lives, '3') }
    }
    for (const [resource, base] of Object.entries(BASES)) {
      it(`${kindForResource(resource)!.kind}: 201, and GET shows the defaults`, async () => {
        const manifest = baseOf({ resource, base })
        const res = await a.request('POST', collection(resource), { json: manifest })
        assert.equal(res.status, 201, res.text)
        const got = await a.getJson(item(resource, manifest.metadata.name))
        assert.equal(got.metadata.name, manifest.metadata.name)
        assert.equal(got.metadata.namespace, kindForResource(resource)!.namespaced ? NS : undefined)
        defaults[resource]!(got)
        stored[resource] = got
      })
    }
  })

  describe('a bad manifest POSTed gets 422 and nothing is created', () => {
    let rv = ''
    before(async () => { rv = await settledRv() })

    for (const c of VALIDATION_CASES) {
      it(`${c.resource}: ${c.rule}`, async () => {
        const bad = badOf(c)
        // The base of each kind is stored already: a fresh name shows that nothing new appears.
        if (bad.metadata?.name === baseOf(c).metadata.name) bad.metadata.name = `${bad.metadata.name as string}-new`
        const before = await listRv(c.resource, c.urlNamespace ?? NS)
        const res = await a.request('POST', collection(c.resource, c.urlNamespace ?? NS), { json: bad })
        const name = typeof bad.metadata?.name === 'string' ? bad.metadata.name : ''
        assertInvalid(res, c.resource, name, c.line)
        if (name !== '') assert.equal((await a.request('GET', item(c.resource, name, c.urlNamespace ?? NS))).status, 404, 'the object is absent')
        assert.equal(await listRv(c.resource, c.urlNamespace ?? NS), before, 'the store did not move')
      })
    }

    it('a watch from before the bad creates sees no event', async () => {
      for (const resource of Object.keys(BASES)) {
        const events = (await eventsSince(resource, rv)).filter(e => e.object?.metadata?.name !== a.name)
        assert.deepEqual(events, [], resource)
      }
      assert.equal(await listRv('configmaps'), rv)
    })
  })

  describe('a bad update (PUT, JSON patch, strategic merge patch) gets 422 and leaves the object as it was', () => {
    let rv = ''
    before(async () => {
      rv = await settledRv()
      for (const resource of Object.keys(BASES)) stored[resource] = await a.getJson(item(resource, BASES[resource]!().metadata.name))
    })

    const assertUnchanged = async (resource: string, before: string): Promise<void> => {
      const now = await a.getJson(item(resource, stored[resource]!.metadata.name))
      assert.deepEqual(now, stored[resource], 'the object, its resourceVersion included, is unchanged')
      assert.equal(await listRv(resource), before, 'the store did not move')
    }

    for (const c of VALIDATION_CASES.filter(x => x.update)) {
      it(`PUT ${c.resource}: ${c.rule}`, async () => {
        const bad = badOf(c)
        const name = stored[c.resource]!.metadata.name as string
        const before = await listRv(c.resource)
        const res = await a.request('PUT', item(c.resource, name), { json: { ...bad, metadata: { ...bad.metadata, name, resourceVersion: stored[c.resource]!.metadata.resourceVersion } } })
        assertInvalid(res, c.resource, name, c.line)
        await assertUnchanged(c.resource, before)
      })
      it(`PATCH ${c.resource}: ${c.rule}`, async () => {
        const bad = badOf(c)
        const name = stored[c.resource]!.metadata.name as string
        const before = await listRv(c.resource)
        const ops = jsonPatch(baseOf(c), bad)
        const res = await a.request('PATCH', item(c.resource, name), { json: ops, headers: { 'content-type': 'application/json-patch+json' } })
        assertInvalid(res, c.resource, name, c.line)
        await assertUnchanged(c.resource, before)
      })
    }

    UPDATE_CASES.forEach((c, i) => {
      it(`PUT and PATCH ${c.resource}: ${c.rule}`, async () => {
        // These rules compare with the stored object: store the case's base first, as a fresh object.
        const base = baseOf(c)
        const name = `${base.metadata.name as string}-upd${i}`
        base.metadata.name = name
        const created = await a.request('POST', collection(c.resource), { json: base })
        assert.equal(created.status, 201, created.text)
        const before = await a.getJson(item(c.resource, name))
        const rvBefore = await listRv(c.resource)
        const bad = structuredClone(base)
        c.change(bad)
        const res = await a.request('PUT', item(c.resource, name), { json: bad })
        assertInvalid(res, c.resource, name, c.line)
        assert.deepEqual(await a.getJson(item(c.resource, name)), before)
        assert.equal(await listRv(c.resource), rvBefore)
        const ops = jsonPatch(base, bad)
        const patched = await a.request('PATCH', item(c.resource, name), { json: ops, headers: { 'content-type': 'application/json-patch+json' } })
        assertInvalid(patched, c.resource, name, c.line)
        assert.deepEqual(await a.getJson(item(c.resource, name)), before)
      })
    })

    it('kubectl-style strategic merge patches are validated too', async () => {
      const before = await listRv('deployments')
      const name = stored.deployments!.metadata.name as string
      const smp = (body: Json): Promise<{ status: number, text: string }> =>
        a.request('PATCH', item('deployments', name), { json: body, headers: { 'content-type': 'application/strategic-merge-patch+json' } })
      // kubectl set image with a bad image, kubectl apply with negative replicas, and with a second container of the same name's port clash.
      assertInvalid(await smp({ spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ name: 'nginx', image: ' nginx:1.27' }] } } } }),
        'deployments', name, 'spec.template.spec.containers[0].image: Invalid value: " nginx:1.27": must not have leading or trailing whitespace')
      assertInvalid(await smp({ spec: { replicas: -3 } }), 'deployments', name, 'spec.replicas: Invalid value: -3: must be greater than or equal to 0')
      assertInvalid(await smp({ spec: { template: { metadata: { labels: { app: 'other' } } } } }), 'deployments', name,
        'spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`')
      assert.deepEqual(await a.getJson(item('deployments', name)), stored.deployments)
      assert.equal(await listRv('deployments'), before)
    })

    it('merge patches (kubectl scale style) are validated too', async () => {
      const name = 'merge-target'
      assert.equal((await a.request('POST', collection('deployments'), { json: { ...nginxDeployment(), metadata: { name } } })).status, 201)
      const before = await a.getJson(item('deployments', name))
      const res = await a.request('PATCH', item('deployments', name), { json: { spec: { replicas: -1 } }, headers: { 'content-type': 'application/merge-patch+json' } })
      assertInvalid(res, 'deployments', name, 'spec.replicas: Invalid value: -1: must be greater than or equal to 0')
      assert.deepEqual(await a.getJson(item('deployments', name)), before)
      // A merge patch naming a stale resourceVersion is a Conflict, as in Kubernetes.
      const stale = await a.request('PATCH', item('deployments', name), { json: { metadata: { resourceVersion: '1' }, spec: { replicas: 2 } }, headers: { 'content-type': 'application/merge-patch+json' } })
      assert.equal(stale.status, 409, stale.text)
      const good = await a.request('PATCH', item('deployments', name), { json: { spec: { replicas: 2 } }, headers: { 'content-type': 'application/merge-patch+json' } })
      assert.equal(good.status, 200, good.text)
      assert.equal(JSON.parse(good.text).spec.replicas, 2)
    })

    it('a watch from before the bad updates sees no event for the stored objects', async () => {
      for (const resource of Object.keys(BASES)) {
        const events = (await eventsSince(resource, rv)).filter(e => e.object?.metadata?.name === stored[resource]!.metadata.name)
        assert.deepEqual(events, [], resource)
      }
    })
  })

  describe('unknown fields: dropped by default and with Ignore or Warn, a 400 with Strict', () => {
    const withUnknown = (name: string): Json => {
      const d = nginxDeployment()
      d.metadata.name = name
      d.spec.replica = 5
      d.spec.template.spec.containers[0].imagePullPolicyy = 'Always'
      d.spec.template.spec.containers[0].resources = { limits: { cpu: '1' }, limit: { cpu: '2' } }
      return d
    }
    /** In the order they appear in the document, as Kubernetes' decoder meets them. */
    const UNKNOWN = ['spec.template.spec.containers[0].imagePullPolicyy', 'spec.template.spec.containers[0].resources.limit', 'spec.replica']

    const assertDropped = (o: Json): void => {
      assert.equal(o.spec.replica, undefined)
      assert.equal(o.spec.replicas, 3)
      assert.equal(o.spec.template.spec.containers[0].imagePullPolicyy, undefined)
      assert.deepEqual(o.spec.template.spec.containers[0].resources, { limits: { cpu: '1' } })
    }

    for (const [query, label, name] of [['', 'no fieldValidation (Warn)', 'unknown-default'], ['?fieldValidation=Ignore', 'Ignore', 'unknown-ignore'], ['?fieldValidation=Warn', 'Warn', 'unknown-warn']] as const) {
      it(`${label}: created without the unknown fields`, async () => {
        const res = await a.request('POST', `${collection('deployments')}${query}`, { json: withUnknown(name) })
        assert.equal(res.status, 201, res.text)
        assertDropped(JSON.parse(res.text))
        assertDropped(await a.getJson(item('deployments', name)))
        if (label === 'Ignore') assert.equal(res.headers.warning, undefined, 'Ignore says nothing')
      })
    }

    it('Warn (and no fieldValidation) answers a Warning header per dropped field, which kubectl prints', async () => {
      const res = await a.request('POST', `${collection('deployments')}?fieldValidation=Warn`, { json: withUnknown('unknown-warn-header') })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(String(res.headers.warning).split(/,\s*(?=299)/), UNKNOWN.map(f => `299 - "unknown field \\"${f}\\""`))
    })

    it('Strict: 400 BadRequest naming every unknown field, and nothing is created', async () => {
      const rv = await listRv('deployments')
      const res = await a.request('POST', `${collection('deployments')}?fieldValidation=Strict`, { json: withUnknown('unknown-strict') })
      assert.equal(res.status, 400, res.text)
      const s = JSON.parse(res.text) as Json
      assert.equal(s.reason, 'BadRequest')
      assert.equal(s.message, `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${UNKNOWN.map(f => `unknown field "${f}"`).join(', ')}`)
      assert.equal((await a.request('GET', item('deployments', 'unknown-strict'))).status, 404)
      assert.equal(await listRv('deployments'), rv)
    })

    it('Strict comes before validation, as decoding does in Kubernetes; without it the invalid value is still a 422', async () => {
      const d = withUnknown('unknown-invalid')
      d.spec.replicas = -1
      assert.equal((await a.request('POST', `${collection('deployments')}?fieldValidation=Strict`, { json: d })).status, 400)
      assertInvalid(await a.request('POST', collection('deployments'), { json: d }), 'deployments', 'unknown-invalid', 'spec.replicas: Invalid value: -1: must be greater than or equal to 0')
    })

    it('Strict applies to PUT and to patches; the object stays as it was', async () => {
      const current = await a.getJson(item('deployments', 'unknown-ignore'))
      const put = await a.request('PUT', `${item('deployments', 'unknown-ignore')}?fieldValidation=Strict`, { json: { ...current, spec: { ...current.spec, paused: true, pause: true } } })
      assert.equal(put.status, 400, put.text)
      assert.match(JSON.parse(put.text).message, /strict decoding error: unknown field "spec\.pause"$/)
      const smp = await a.request('PATCH', `${item('deployments', 'unknown-ignore')}?fieldValidation=Strict&fieldManager=kubectl-client-side-apply`, {
        json: { spec: { template: { spec: { containers: [{ name: 'nginx', imagePullPolicyy: 'Never' }] } } } },
        headers: { 'content-type': 'application/strategic-merge-patch+json' }
      })
      assert.equal(smp.status, 400, smp.text)
      assert.match(JSON.parse(smp.text).message, /unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolicyy"/)
      const jp = await a.request('PATCH', `${item('deployments', 'unknown-ignore')}?fieldValidation=Strict`, {
        json: [{ op: 'add', path: '/spec/maxReplicas', value: 9 }],
        headers: { 'content-type': 'application/json-patch+json' }
      })
      assert.equal(jp.status, 400, jp.text)
      assert.deepEqual(await a.getJson(item('deployments', 'unknown-ignore')), current)
    })

    it('an unknown fieldValidation value is a 422 on the request options', async () => {
      const res = await a.request('POST', `${collection('deployments')}?fieldValidation=Loose`, { json: nginxDeployment() })
      assert.equal(res.status, 422, res.text)
      const s = JSON.parse(res.text) as Json
      assert.equal(s.reason, 'Invalid')
      assert.equal(s.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"')
      assert.deepEqual(s.details.causes.map((c: Json) => c.field), ['fieldValidation'])
    })

    it('Strict takes the Kubernetes docs\' nginx Deployment and Service, and a manifest using much of the API, field for field', async () => {
      const rich = nginxDeployment()
      rich.metadata.name = 'rich'
      Object.assign(rich.spec, { revisionHistoryLimit: 2, minReadySeconds: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } })
      Object.assign(rich.spec.template.spec, {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
        tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        volumes: [{ name: 'cache', emptyDir: { sizeLimit: '64Mi' } }, { name: 'logs', hostPath: { path: '/var/log/nginx', type: 'DirectoryOrCreate' } }]
      })
      Object.assign(rich.spec.template.spec.containers[0], {
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        volumeMounts: [{ name: 'cache', mountPath: '/var/cache/nginx' }, { name: 'logs', mountPath: '/var/log/nginx' }],
        readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
        lifecycle: { preStop: { exec: { command: ['nginx', '-s', 'quit'] } } },
        securityContext: { allowPrivilegeEscalation: false }
      })
      const svc = nginxService()
      svc.spec.type = 'NodePort'
      svc.spec.ports[0].nodePort = 30080
      // The docs' examples are stored already under their own names (the bases): these go under others.
      const docs = nginxDeployment()
      docs.metadata.name = 'nginx-deployment-strict'
      const docsSvc = nginxService()
      docsSvc.metadata.name = 'my-service-strict'
      svc.metadata.name = 'my-service-nodeport'
      for (const [resource, manifest] of [['deployments', docs], ['services', docsSvc], ['services', svc], ['deployments', rich]] as const) {
        const res = await a.request('POST', `${collection(resource)}?fieldValidation=Strict&fieldManager=kubectl-client-side-apply`, { json: manifest })
        assert.equal(res.status, 201, res.text)
        const got = await a.getJson(item(resource, manifest.metadata.name))
        // Every field of the manifest is stored as sent; defaults only add.
        const contains = (want: unknown, have: unknown, at: string): void => {
          if (typeof want !== 'object' || want === null) { assert.deepEqual(have, want, at); return }
          assert.equal(typeof have, 'object', at)
          for (const [k, v] of Object.entries(want)) contains(v, (have as Json)[k], `${at}.${k}`)
        }
        contains({ ...manifest, metadata: { ...manifest.metadata, namespace: NS } }, got, resource)
      }
    })
  })

  describe('the stock kubectl prints what a real cluster prints', { skip: haveKubectl ? false : 'kubectl is not installed on this machine' }, () => {
    const kubectl = (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => new Promise(resolve => {
      execFile('kubectl', [`--kubeconfig=${a.kubeconfig}`, `--cache-dir=${join(scratch.path, 'cache')}`, '-n', NS, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
      })
    })
    const manifest = (name: string, change: (d: Json) => void): string => {
      const d = nginxDeployment()
      d.metadata.name = name
      change(d)
      const file = join(scratch.path, `${name}.json`)
      writeFileSync(file, JSON.stringify(d))
      return file
    }

    it('kubectl apply of a manifest with a typo fails with the strict decoding error', async () => {
      const r = await kubectl(['apply', '-f', manifest('typo', d => { d.spec.replica = 2 })])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /strict decoding error: unknown field "spec\.replica"/)
      assert.equal((await a.request('GET', item('deployments', 'typo'))).status, 404)
    })

    it('kubectl apply --validate=false drops the unknown field and creates the object', async () => {
      const r = await kubectl(['apply', '--validate=false', '-f', manifest('typo-ignored', d => { d.spec.replica = 2 })])
      assert.equal(r.code, 0, r.stderr)
      assert.equal((await a.getJson(item('deployments', 'typo-ignored'))).spec.replica, undefined)
    })

    it('what kubectl itself sends passes: create (protobuf), apply twice (Strict POST, then Strict patch), set image, expose, scale', async () => {
      const ok = async (args: string[]): Promise<string> => {
        const r = await kubectl(args)
        assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
        return r.stdout
      }
      await ok(['create', 'deployment', 'kc', '--image=nginx:1.27'])
      assert.match(await ok(['apply', '-f', manifest('applied', d => { d.spec.replicas = 2 })]), /created/)
      assert.match(await ok(['apply', '-f', manifest('applied', d => { d.spec.replicas = 4; d.spec.template.spec.containers[0].image = 'nginx:1.27' })]), /configured/)
      const applied = await a.getJson(item('deployments', 'applied'))
      assert.equal(applied.spec.replicas, 4)
      assert.equal(applied.spec.template.spec.containers[0].image, 'nginx:1.27')
      await ok(['set', 'image', 'deployment/kc', 'nginx=nginx:1.28'])
      await ok(['expose', 'deployment', 'kc', '--port=80', '--type=NodePort'])
      await ok(['scale', 'deployment', 'kc', '--replicas=2'])
      const kc = await a.getJson(item('deployments', 'kc'))
      assert.equal(kc.spec.template.spec.containers[0].image, 'nginx:1.28')
      assert.equal(kc.spec.replicas, 2)
      assert.equal((await a.getJson(item('services', 'kc'))).spec.type, 'NodePort')
    })

    it('kubectl apply of an invalid manifest prints the 422 as The Deployment "x" is invalid', async () => {
      const r = await kubectl(['apply', '-f', manifest('bad-probe', d => { d.spec.template.spec.containers[0].livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 } })])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /The Deployment "bad-probe" is invalid: spec\.template\.spec\.containers\[0\]\.livenessProbe\.successThreshold: Invalid value: 2: must be 1/)
    })
  })
})

