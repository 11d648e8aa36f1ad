import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentProcess, SHOAL_BIN, scratchDir, shoal, type RunResult, API_ONLY } from './helpers/agents.ts'
import { raftStatus } from './helpers/store.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * The write side of the `shoal` CLI (create, apply, delete, scale, expose,
 * set image, rollout, exec) against a real three-agent cluster, through each
 * agent in turn, checking what was stored through the API itself.
 */

const APPS = '/apis/apps/v1/namespaces/default'
const CORE = '/api/v1/namespaces/default'

/** A `shoal` process whose output can be watched while it runs, with optional stdin. */
function startShoal (args: readonly string[], opts: { input?: string, env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess, out: () => string, err: () => string, done: Promise<RunResult> } {
  const child = spawn(process.execPath, [SHOAL_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  child.stdin!.on('error', () => {}).end(opts.input ?? '') // a command that exits unread: its status tells
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const done = once(child, 'exit').then(([code]) => {
    clearTimeout(timer)
    return { code: code as number | null, stdout, stderr }
  })
  return { child, out: () => stdout, err: () => stderr, done }
}

function succeeded (r: RunResult): void {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`)
}

/** A failure is exit 1 and exactly one line on stderr. */
function failedWith (r: RunResult, line: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}: ${r.stdout}${r.stderr}`)
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`)
  assert.match(r.stderr, line)
}

/** The Kubernetes docs' Deployment (run-stateless-application-deployment) and a Service for it. */
const DOCS_MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2 # tells deployment to run 2 pods matching the template
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 9376
`

describe('shoal write commands against a three-agent cluster', () => {
  const scratch = scratchDir('cli-write')
  const agents = [134, 135, 136].map(i => new AgentProcess(scratch.path, `write-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3] = agents as [AgentProcess, AgentProcess, AgentProcess]
  /** Run `shoal ARGS` against agent `a` (its kubeconfig goes before any `--`, after which everything is exec's command). */
  const via = async (a: AgentProcess, args: readonly string[]): Promise<RunResult> => {
    const dashes = args.indexOf('--')
    const [own, command] = dashes < 0 ? [args, []] : [args.slice(0, dashes), args.slice(dashes)]
    return await shoal([...own, '--kubeconfig', a.kubeconfig, ...command], { timeoutMs: 60_000 })
  }
  const file = (name: string, text: string): string => {
    const path = join(scratch.path, name)
    writeFileSync(path, text)
    return path
  }
  const get = async (a: AgentProcess, path: string): Promise<any> => await a.getJson(path)
  const status = async (a: AgentProcess, path: string): Promise<number> => (await a.request('GET', path)).status
  const names = async (a: AgentProcess, path: string): Promise<string[]> => (await get(a, path)).items.map((o: { metadata: { name: string } }) => o.metadata.name).sort()
  /** Every deployment, service and configmap name in default, to show that a refused command wrote nothing. */
  const snapshot = async (a: AgentProcess): Promise<string> => JSON.stringify(await Promise.all([`${APPS}/deployments`, `${CORE}/services`, `${CORE}/configmaps`].map(async p => await names(a, p))))
  /** Wait until `a`'s replica has the object at least at `rv` (reads are local, a write through another agent may not be there yet). */
  const caughtUp = async (a: AgentProcess, path: string, rv: string): Promise<void> => {
    await waitFor(`${a.name} has ${path} at ${rv}`, async () => {
      const res = await a.request('GET', path)
      return res.status === 200 && Number(JSON.parse(res.text).metadata.resourceVersion) >= Number(rv)
    }, { timeoutMs: 15_000 })
  }

  before(async () => {
    await a1.start(API_ONLY)
    const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await a2.start(['--join', a1.ip, '--token', token, ...API_ONLY])
    await a3.start(['--join', a1.ip, '--token', token, ...API_ONLY])
    await waitFor('three voters with one leader', async () => {
      const views = await Promise.all(agents.map(raftStatus))
      return views.every(v => v.conf.voters.length === 3 && v.leader !== null && v.leader === views[0]!.leader)
    }, { timeoutMs: 30_000, intervalMs: 200 })
    await waitFor('the default namespace', async () => (await Promise.all(agents.map(async a => await status(a, '/api/v1/namespaces/default')))).every(s => s === 200), { timeoutMs: 15_000 })
  })

  after(async () => {
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('create, scale, expose, set image and delete work through each agent in turn', async () => {
    for (const [i, a] of agents.entries()) {
      const name = `web-${i}`
      const other = agents[(i + 1) % agents.length]!
      const created = await via(a, ['create', 'deployment', name, '--image=registry.local:5000/team/nginx:1.14.2', '--replicas=2', '--port=80'])
      succeeded(created)
      assert.equal(created.stdout, `deployment.apps/${name} created\n`)
      const d = await get(a, `${APPS}/deployments/${name}`)
      assert.deepEqual(d.metadata.labels, { app: name })
      assert.deepEqual(d.spec.selector, { matchLabels: { app: name } })
      assert.deepEqual(d.spec.template.metadata.labels, { app: name })
      assert.equal(d.spec.replicas, 2)
      const [c] = d.spec.template.spec.containers
      assert.deepEqual([c.name, c.image, c.ports], ['nginx', 'registry.local:5000/team/nginx:1.14.2', [{ containerPort: 80, protocol: 'TCP' }]])
      failedWith(await via(a, ['create', 'deployment', name, '--image=nginx']), new RegExp(`^error: failed to create deployment: deployments\\.apps "${name}" already exists\\n$`))

      const scaled = await via(a, ['scale', 'deployment', name, '--replicas=5'])
      succeeded(scaled)
      assert.equal(scaled.stdout, `deployment.apps/${name} scaled\n`)
      assert.equal((await get(a, `${APPS}/deployments/${name}`)).spec.replicas, 5)
      succeeded(await via(a, ['scale', `deploy/${name}`, '--replicas=0']))
      assert.equal((await get(a, `${APPS}/deployments/${name}`)).spec.replicas, 0)

      const exposed = await via(a, ['expose', 'deployment', name, '--type=LoadBalancer', '--port=8080', '--target-port=80'])
      succeeded(exposed)
      assert.equal(exposed.stdout, `service/${name} exposed\n`)
      const svc = await get(a, `${CORE}/services/${name}`)
      assert.equal(svc.spec.type, 'LoadBalancer')
      assert.deepEqual(svc.spec.selector, { app: name })
      assert.deepEqual(svc.spec.ports.map((p: any) => [p.port, p.targetPort, p.protocol]), [[8080, 80, 'TCP']])

      const updated = await via(a, ['set', 'image', `deployment/${name}`, 'nginx=nginx:1.16.1'])
      succeeded(updated)
      assert.equal(updated.stdout, `deployment.apps/${name} image updated\n`)
      const after = (await get(a, `${APPS}/deployments/${name}`)).spec.template.spec.containers[0]
      assert.equal(after.image, 'nginx:1.16.1')
      assert.deepEqual(after.ports, [{ containerPort: 80, protocol: 'TCP' }], 'the rest of the container is kept')
      failedWith(await via(a, ['set', 'image', `deployment/${name}`, 'nope=nginx:2']), /^error: unable to find container named "nope"\n$/)

      const deleted = await via(a, ['delete', 'deployment', name])
      succeeded(deleted)
      assert.equal(deleted.stdout, `deployment.apps "${name}" deleted\n`)
      const svcDeleted = await via(a, ['delete', `svc/${name}`])
      assert.equal(svcDeleted.stdout, `service "${name}" deleted\n`)
      assert.equal(await status(a, `${APPS}/deployments/${name}`), 404)
      assert.equal(await status(a, `${CORE}/services/${name}`), 404)
      await waitFor(`${other.name} sees ${name} deleted`, async () => await status(other, `${CORE}/services/${name}`) === 404, { timeoutMs: 15_000 })
      failedWith(await via(a, ['delete', 'deployment', name]), new RegExp(`^Error from server \\(NotFound\\): deployments\\.apps "${name}" not found\\n$`))
    }
  })

  it('bad flags are refused naming the flag, before anything is sent', async () => {
    const before = await snapshot(a1)
    // An address where nothing listens: reaching the network would fail differently.
    const nowhere = async (args: readonly string[]): Promise<RunResult> => await shoal([...args, '--kubeconfig', a1.kubeconfig, '--server', '127.0.0.134:1'])
    failedWith(await nowhere(['create', 'deployment', 'x', '--image=nginx', '--replicas=-1']), /^error: invalid argument "-1" for "--replicas" flag: must be greater than or equal to 0\n$/)
    failedWith(await nowhere(['create', 'deployment', 'x', '--image=nginx', '--replicas=x']), /^error: invalid argument "x" for "--replicas" flag: must be a whole number\n$/)
    failedWith(await nowhere(['create', 'deployment', 'x']), /^error: required flag\(s\) "image" not set/)
    failedWith(await nowhere(['create', 'deployment', 'x', '--image=nginx', '--port=99999']), /"--port" flag/)
    failedWith(await nowhere(['scale', 'deployment', 'x', '--replicas=-1']), /"--replicas" flag/)
    failedWith(await nowhere(['scale', 'deployment', 'x']), /--replicas=COUNT flag is required/)
    failedWith(await nowhere(['expose', 'deployment', 'x', '--type=Foo', '--port=80']), /^error: invalid argument "Foo" for "--type" flag: must be one of ClusterIP, NodePort, LoadBalancer\n$/)
    failedWith(await nowhere(['rollout', 'status', 'deployment/x', '--timeout=soon']), /"--timeout" flag/)
    // The same against the real agent: refused alike, and nothing changed.
    failedWith(await via(a1, ['create', 'deployment', 'x', '--image=nginx', '--replicas=-1']), /"--replicas" flag/)
    assert.equal(await snapshot(a1), before)
    // And the check that these would have reached the network.
    failedWith(await nowhere(['scale', 'deployment', 'x', '--replicas=1']), /cannot reach 127\.0\.0\.134:1/)
  })

  it('apply creates, configures, leaves unchanged, and removes what the manifest dropped, through each agent', async () => {
    const manifest = (o: { image: string, replicas?: number, tier?: boolean, envB?: boolean }): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
${o.tier === true ? '    tier: backend\n' : ''}spec:
${o.replicas !== undefined ? `  replicas: ${o.replicas}\n` : ''}  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: ${o.image}
        env:
        - {name: A, value: "1"}
${o.envB === true ? '        - {name: B, value: "2"}\n' : ''}        ports:
        - containerPort: 8080
`
    const path = `${APPS}/deployments/api`
    const f = file('api.yaml', manifest({ image: 'api:1', replicas: 2, tier: true, envB: true }))
    const created = await via(a1, ['apply', '-f', f])
    succeeded(created)
    assert.equal(created.stdout, 'deployment.apps/api created\n')
    let live = await get(a1, path)
    const saved = JSON.parse(live.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'])
    assert.equal(saved.metadata.namespace, 'default')
    assert.deepEqual(saved.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }])

    // Someone else labels it; apply must keep that.
    const labelled = await a1.request('PATCH', path, { json: { metadata: { labels: { owner: 'ops' } } }, headers: { 'content-type': 'application/merge-patch+json' } })
    assert.equal(labelled.status, 200, labelled.text)
    const rvLabelled = JSON.parse(labelled.text).metadata.resourceVersion as string

    await caughtUp(a2, path, rvLabelled)
    writeFileSync(f, manifest({ image: 'api:2', replicas: 3, tier: true, envB: true }))
    const configured = await via(a2, ['apply', '-f', f])
    succeeded(configured)
    assert.equal(configured.stdout, 'deployment.apps/api configured\n')
    live = await get(a2, path)
    assert.equal(live.spec.template.spec.containers[0].image, 'api:2')
    assert.equal(live.spec.replicas, 3)
    assert.equal(live.metadata.labels.owner, 'ops', 'a label set by someone else is kept')
    assert.equal(live.metadata.generation, 2)

    await caughtUp(a3, path, live.metadata.resourceVersion)
    const unchanged = await via(a3, ['apply', '-f', f])
    succeeded(unchanged)
    assert.equal(unchanged.stdout, 'deployment.apps/api unchanged\n')
    assert.equal((await get(a3, path)).metadata.resourceVersion, live.metadata.resourceVersion, 'nothing was written')

    writeFileSync(f, manifest({ image: 'api:2' }))
    const removed = await via(a1, ['apply', '-f', f])
    succeeded(removed)
    assert.equal(removed.stdout, 'deployment.apps/api configured\n')
    live = await get(a1, path)
    assert.deepEqual(live.metadata.labels, { app: 'api', owner: 'ops' }, 'the tier label removed from the manifest is gone, owner stays')
    assert.deepEqual(live.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }], 'env B removed')
    assert.equal(live.spec.replicas, 1, 'replicas dropped from the manifest: back to the default')
    assert.deepEqual(live.spec.template.spec.containers[0].ports, [{ containerPort: 8080, protocol: 'TCP' }])

    // An object made by create (no annotation) is taken over with a warning.
    succeeded(await via(a1, ['create', 'deployment', 'plain', '--image=nginx']))
    const takeover = await via(a1, ['apply', '-f', file('plain.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: plain, labels: {app: plain}}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: plain}}\n  template:\n    metadata: {labels: {app: plain}}\n    spec: {containers: [{name: nginx, image: nginx}]}\n')])
    succeeded(takeover)
    assert.equal(takeover.stdout, 'deployment.apps/plain configured\n')
    assert.match(takeover.stderr, /^Warning: resource deployments\/plain is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/)
    assert.equal((await get(a1, `${APPS}/deployments/plain`)).spec.replicas, 2)
    succeeded(await via(a1, ['delete', 'deployment', 'api', 'plain']))
  })

  it('applies the Kubernetes docs\' nginx Deployment and a Service, multi-document, from a file, a directory and stdin', async () => {
    const f = file('docs.yaml', DOCS_MANIFEST)
    const first = await via(a2, ['apply', '-f', f])
    succeeded(first)
    assert.equal(first.stdout, 'deployment.apps/nginx-deployment created\nservice/my-service created\n')
    const d = await get(a2, `${APPS}/deployments/nginx-deployment`)
    assert.equal(d.spec.replicas, 2)
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.14.2')
    assert.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }])
    const svc = await get(a2, `${CORE}/services/my-service`)
    assert.deepEqual(svc.spec.ports.map((p: any) => [p.port, p.targetPort, p.protocol]), [[80, 9376, 'TCP']])
    assert.deepEqual(svc.spec.selector, { app: 'nginx' })

    // The same objects as a directory (sorted: the JSON Service after the YAML Deployment) and from stdin: unchanged.
    const dir = join(scratch.path, 'docs')
    mkdirSync(dir)
    const dep = DOCS_MANIFEST.split('---\n')[0]!
    writeFileSync(join(dir, 'a-deployment.yaml'), dep)
    writeFileSync(join(dir, 'b-service.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'my-service' }, spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 9376 }] } }))
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest')
    const fromDir = await via(a2, ['apply', '-f', dir])
    succeeded(fromDir)
    assert.equal(fromDir.stdout, 'deployment.apps/nginx-deployment unchanged\nservice/my-service unchanged\n')
    const fromStdin = await startShoal(['apply', '-f', '-', '--kubeconfig', a2.kubeconfig], { input: DOCS_MANIFEST.replace('replicas: 2', 'replicas: 4') }).done
    succeeded(fromStdin)
    assert.equal(fromStdin.stdout, 'deployment.apps/nginx-deployment configured\nservice/my-service unchanged\n')
    assert.equal((await get(a2, `${APPS}/deployments/nginx-deployment`)).spec.replicas, 4)

    const deleted = await via(a2, ['delete', '-f', f])
    succeeded(deleted)
    assert.equal(deleted.stdout, 'deployment.apps "nginx-deployment" deleted\nservice "my-service" deleted\n')
    const again = await via(a2, ['delete', '-f', f])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /^Error from server \(NotFound\): error when deleting ".*docs\.yaml": deployments\.apps "nginx-deployment" not found\nError from server \(NotFound\): error when deleting ".*docs\.yaml": services "my-service" not found\n$/)
    const ignored = await via(a2, ['delete', '-f', f, '--ignore-not-found'])
    succeeded(ignored)
    assert.equal(ignored.stdout + ignored.stderr, '')
  })

  it('a bad manifest writes nothing: a syntax error, an unknown kind, an invalid field', async () => {
    const good = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\ndata: {a: "1"}\n---\n'
    const before = await snapshot(a3)
    const cases: Array<[string, string, RegExp]> = [
      ['syntax.yaml', `${good}apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [second\n`, /^error: .*syntax\.yaml: document 2: error parsing YAML: .*line \d+/],
      ['kind.yaml', `${good}apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n`, /^error: .*kind\.yaml: document 2: no matches for kind "Widget" in version "v1"/],
      ['noname.yaml', `${good}apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n`, /^error: .*noname\.yaml: document 2: metadata\.name is required/],
      ['invalid.yaml', `${good}apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: bad}}\n  template:\n    metadata: {labels: {app: bad}}\n    spec: {containers: [{name: c, image: busybox}]}\n`,
        /^error: .*invalid\.yaml: document 2: The Deployment "bad" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0\n$/]
    ]
    for (const [name, text, line] of cases) {
      const f = file(name, text)
      failedWith(await via(a3, ['apply', '-f', f]), line)
      failedWith(await via(a3, ['create', '-f', f]), line)
      assert.equal(await snapshot(a3), before, `${name} wrote nothing`)
    }
    // A refusal only the server can make: a 422 naming the field.
    failedWith(await via(a3, ['create', 'deployment', 'Bad_Name', '--image=nginx']), /^error: failed to create deployment: Deployment\.apps "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/)
    assert.equal(await snapshot(a3), before)
    // create -f of something that exists: kubectl's AlreadyExists line, naming the file.
    const cm = file('cm.yaml', good)
    succeeded(await via(a3, ['create', '-f', cm]))
    failedWith(await via(a3, ['create', '-f', cm]), /^Error from server \(AlreadyExists\): error when creating ".*cm\.yaml": configmaps "first" already exists\n$/)
    succeeded(await via(a3, ['delete', 'configmap', 'first']))
  })

  it('unknown fields: refused by default (strict), dropped with a Warning line under --validate=warn, silently under ignore', async () => {
    const f = file('unknown.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\ndata: {a: "1"}\ncolour: blue\n')
    const before = await snapshot(a2)
    failedWith(await via(a2, ['apply', '-f', f]), /^Error from server \(BadRequest\): error when applying ".*unknown\.yaml": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "colour"\n$/)
    failedWith(await via(a2, ['create', '-f', f, '--validate=true']), /strict decoding error: unknown field "colour"/)
    failedWith(await via(a2, ['apply', '-f', f, '--validate=loose']), /^error: invalid - validate option "loose"; must be one of: strict \(or true\), warn, ignore \(or false\)\n$/)
    assert.equal(await snapshot(a2), before)
    const warned = await via(a2, ['apply', '-f', f, '--validate=warn'])
    succeeded(warned)
    assert.equal(warned.stderr, 'Warning: unknown field "colour"\n')
    assert.equal(warned.stdout, 'configmap/loose created\n')
    const cm = await get(a2, `${CORE}/configmaps/loose`)
    assert.equal(cm.colour, undefined)
    assert.deepEqual(cm.data, { a: '1' })
    const ignored = await via(a2, ['apply', '-f', f, '--validate=false'])
    succeeded(ignored)
    assert.equal(ignored.stderr, '')
    // The manifest's field is never on the live object, so the patch carries it each time: configured, as kubectl says too.
    assert.equal(ignored.stdout, 'configmap/loose configured\n')
    assert.deepEqual((await get(a2, `${CORE}/configmaps/loose`)).data, { a: '1' })
    succeeded(await via(a2, ['delete', '-f', f]))
  })

  it('namespaces: create namespace, apply into -n or the manifest\'s own, delete by selector', async () => {
    const created = await via(a1, ['create', 'namespace', 'team'])
    succeeded(created)
    assert.equal(created.stdout, 'namespace/team created\n')
    const cm = (name: string, ns?: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns !== undefined ? `  namespace: ${ns}\n` : ''}  labels: {app: x}\ndata: {k: v}\n`
    succeeded(await via(a1, ['apply', '-f', file('ns1.yaml', cm('in-flag')), '-n', 'team']))
    succeeded(await via(a1, ['apply', '-f', file('ns2.yaml', cm('in-manifest', 'team')), '-n', 'default']))
    assert.deepEqual(await names(a1, '/api/v1/namespaces/team/configmaps'), ['in-flag', 'in-manifest'])
    const gone = await via(a1, ['delete', 'configmaps', '-l', 'app=x', '-n', 'team'])
    succeeded(gone)
    assert.equal(gone.stdout, 'configmap "in-flag" deleted\nconfigmap "in-manifest" deleted\n')
    assert.deepEqual(await names(a1, '/api/v1/namespaces/team/configmaps'), [])
  })

  it('rollout status follows the status subresource until the rollout is done', async () => {
    succeeded(await via(a1, ['create', 'deployment', 'roll', '--image=nginx:1', '--replicas=3']))
    const path = `${APPS}/deployments/roll`
    const { generation, resourceVersion } = (await get(a1, path)).metadata as { generation: number, resourceVersion: string }
    await caughtUp(a2, path, resourceVersion)
    const writeStatus = async (s: Record<string, unknown>): Promise<string> => {
      const res = await a1.request('PATCH', `${path}/status`, { json: { status: s }, headers: { 'content-type': 'application/merge-patch+json' } })
      assert.equal(res.status, 200, res.text)
      return JSON.parse(res.text).metadata.resourceVersion as string
    }
    const once = await via(a2, ['rollout', 'status', 'deployment/roll', '--watch=false'])
    succeeded(once)
    assert.equal(once.stdout, 'Waiting for deployment spec update to be observed...\n')

    // The CLI watches through a2 while the "controller" writes status through a1.
    const watching = startShoal(['rollout', 'status', 'deployment/roll', '--kubeconfig', a2.kubeconfig])
    await waitFor('the first state', () => watching.out().includes('Waiting for deployment spec update to be observed...\n'), { timeoutMs: 15_000 })
    const steps: Array<[Record<string, unknown>, string]> = [
      [{ observedGeneration: generation, replicas: 1, updatedReplicas: 1 }, 'Waiting for deployment "roll" rollout to finish: 1 out of 3 new replicas have been updated...\n'],
      [{ replicas: 4, updatedReplicas: 3 }, 'Waiting for deployment "roll" rollout to finish: 1 old replicas are pending termination...\n'],
      [{ replicas: 3, availableReplicas: 2 }, 'Waiting for deployment "roll" rollout to finish: 2 of 3 updated replicas are available...\n']
    ]
    for (const [s, line] of steps) {
      await writeStatus(s)
      await waitFor(line.trim(), () => watching.out().endsWith(line), { timeoutMs: 15_000 })
      assert.equal(watching.child.exitCode, null, 'still waiting')
    }
    const last = await writeStatus({ availableReplicas: 3 })
    const r = await watching.done
    succeeded(r)
    assert.ok(r.stdout.endsWith('deployment "roll" successfully rolled out\n'), r.stdout)
    assert.equal((await get(a1, path)).spec.replicas, 3, 'status writes left the spec alone')

    await caughtUp(a3, path, last)
    const done = await via(a3, ['rollout', 'status', 'deploy/roll'])
    succeeded(done)
    assert.equal(done.stdout, 'deployment "roll" successfully rolled out\n')
    failedWith(await via(a3, ['rollout', 'status', 'deployment/nope']), /^Error from server \(NotFound\): deployments\.apps "nope" not found\n$/)
  })

  it('rollout status fails on ProgressDeadlineExceeded and on --timeout', async () => {
    succeeded(await via(a1, ['create', 'deployment', 'stuck', '--image=nginx:1', '--replicas=2']))
    const path = `${APPS}/deployments/stuck`
    const { generation, resourceVersion } = (await get(a1, path)).metadata as { generation: number, resourceVersion: string }
    await caughtUp(a2, path, resourceVersion)
    await caughtUp(a3, path, resourceVersion)
    const started = Date.now()
    const timedOut = await via(a2, ['rollout', 'status', 'deployment/stuck', '--timeout=2s'])
    assert.ok(Date.now() - started >= 2000, 'it waited for the timeout')
    assert.equal(timedOut.code, 1)
    assert.equal(timedOut.stdout, 'Waiting for deployment spec update to be observed...\n')
    assert.equal(timedOut.stderr, 'error: timed out waiting for the condition\n')

    const watching = startShoal(['rollout', 'status', 'deployment/stuck', '--kubeconfig', a3.kubeconfig])
    await waitFor('the first state', () => watching.out().includes('Waiting'), { timeoutMs: 15_000 })
    const res = await a1.request('PATCH', `${path}/status`, {
      json: { status: { observedGeneration: generation, replicas: 2, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "stuck-1" has timed out progressing.' }] } },
      headers: { 'content-type': 'application/merge-patch+json' }
    })
    assert.equal(res.status, 200, res.text)
    failedWith(await watching.done, /^error: deployment "stuck" exceeded its progress deadline\n$/)
  })

  it('rollout history and undo read the Deployment\'s ReplicaSets', async () => {
    succeeded(await via(a1, ['create', 'deployment', 'hist', '--image=nginx:1.14.2']))
    const path = `${APPS}/deployments/hist`
    const uid = (await get(a1, path)).metadata.uid as string
    const replicaSet = async (name: string, revision: string, image: string, owner: string, cause?: string): Promise<void> => {
      const labels = { app: 'hist', 'pod-template-hash': name }
      const res = await a1.request('POST', `${APPS}/replicasets`, {
        json: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: `hist-${name}`, labels, annotations: { 'deployment.kubernetes.io/revision': revision, ...(cause !== undefined ? { 'kubernetes.io/change-cause': cause } : {}) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'hist', uid: owner, controller: true }] },
          spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'nginx', image }] } } }
        }
      })
      assert.equal(res.status, 201, res.text)
    }
    await replicaSet('aaa', '1', 'nginx:1.14.2', uid, 'shoal create deployment hist --image=nginx:1.14.2')
    await replicaSet('bbb', '2', 'nginx:1.16.1', uid)
    await replicaSet('ccc', '9', 'nginx:9', 'someone-else')
    succeeded(await via(a1, ['set', 'image', 'deployment/hist', 'nginx=nginx:1.16.1']))

    const history = await via(a1, ['rollout', 'history', 'deployment/hist'])
    succeeded(history)
    assert.equal(history.stdout, 'deployment.apps/hist\nREVISION  CHANGE-CAUSE\n1         shoal create deployment hist --image=nginx:1.14.2\n2         <none>\n\n')
    const one = await via(a1, ['rollout', 'history', 'deployment/hist', '--revision=1'])
    succeeded(one)
    assert.match(one.stdout, /^deployment\.apps\/hist with revision #1\nPod Template:\n[\s\S]*image: nginx:1\.14\.2/)

    const undone = await via(a1, ['rollout', 'undo', 'deployment/hist'])
    succeeded(undone)
    assert.equal(undone.stdout, 'deployment.apps/hist rolled back\n')
    let d = await get(a1, path)
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.14.2')
    assert.deepEqual(d.spec.template.metadata.labels, { app: 'hist' }, 'no pod-template-hash')
    assert.equal(d.metadata.annotations['kubernetes.io/change-cause'], 'shoal create deployment hist --image=nginx:1.14.2')

    succeeded(await via(a1, ['rollout', 'undo', 'deployment/hist', '--to-revision=2']))
    d = await get(a1, path)
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.16.1')
    const skipped = await via(a1, ['rollout', 'undo', 'deployment/hist', '--to-revision=2'])
    succeeded(skipped)
    assert.equal(skipped.stdout, 'deployment.apps/hist skipped rollback (current template already matches revision 2)\n')
    failedWith(await via(a1, ['rollout', 'undo', 'deployment/hist', '--to-revision=7']), /^error: unable to find specified revision 7 in history\n$/)

    succeeded(await via(a1, ['create', 'deployment', 'lonely', '--image=nginx']))
    failedWith(await via(a1, ['rollout', 'undo', 'deployment/lonely']), /^error: no rollout history found for deployment "lonely"\n$/)
    const none = await via(a1, ['rollout', 'history', 'deploy/lonely'])
    assert.equal(none.stdout, 'deployment.apps/lonely\nNo rollout history found.\n\n')
  })

  it('exec: a pod that runs nowhere, a missing pod and a wrong container are one error line each', async () => {
    const res = await a1.request('POST', `${CORE}/pods`, { json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } })
    assert.equal(res.status, 201, res.text)
    await caughtUp(a3, `${CORE}/pods/solo`, JSON.parse(res.text).metadata.resourceVersion)
    failedWith(await via(a3, ['exec', 'solo', '--', 'ls', '-l']), /^Error from server \(BadRequest\): pod "solo" is not running on any node yet\n$/)
    failedWith(await via(a3, ['exec', 'pod/nope', '--', 'ls']), /^Error from server \(NotFound\): pods "nope" not found\n$/)
    failedWith(await via(a3, ['exec', 'solo', '-c', 'other', '--', 'ls']), /^error: container other is not valid for pod solo\n$/)
    failedWith(await via(a3, ['exec', 'solo']), /^error: you must specify at least one command for the container/)
  })
})

describe('shoal exec and its frame protocol', () => {
  const scratch = scratchDir('cli-exec')
  const requests: Array<{ method: string, url: string, auth: string | undefined, body: string }> = []
  /** A stand-in for the pod's agent: the pod, and an exec that echoes stdin, writes stderr and exits 3. */
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body })
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/default/pods/p') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'main' }, { name: 'side' }] }, status: { phase: 'Running' } }))
        return
      }
      if (req.method === 'POST' && req.url?.startsWith('/api/v1/namespaces/default/pods/p/exec?') === true) {
        const b64 = (s: string): string => Buffer.from(s).toString('base64')
        res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        res.write(JSON.stringify({ stream: 'stdout', data: b64(`got: ${body}`) }) + '\n')
        res.write(JSON.stringify({ stream: 'stderr', data: b64('warn\n') }) + '\n{"exit":')
        res.end('3}\n')
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' }))
    })
  })
  let port = 0

  before(async () => {
    server.listen(0, '127.0.0.136')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  })

  after(async () => {
    server.close()
    scratch.remove()
  })

  it('writes stdout and stderr frames to its own, streams stdin, and exits with the command\'s code', async () => {
    // No kubeconfig anywhere: --server and --token say it all.
    const env = { HOME: scratch.path, SHOAL_DATA_DIR: scratch.path }
    const r = await startShoal(['exec', '-i', 'p', '-c', 'side', '--server', `http://127.0.0.136:${port}`, '--token', 'secret', '--', 'sh', '-c', 'cat'], { input: 'hello', env }).done
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.stdout, 'got: hello')
    assert.equal(r.stderr, 'warn\ncommand terminated with exit code 3\n')
    const exec = requests.find(q => q.method === 'POST')!
    assert.equal(exec.url, '/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=cat&container=side&stdin=true')
    assert.equal(exec.auth, 'Bearer secret')
    assert.equal(exec.body, 'hello')

    // Without -c on a two-container pod: the first, said on stderr as kubectl does; no stdin sent.
    const r2 = await startShoal(['exec', 'p', '--server', `http://127.0.0.136:${port}`, '--token', 'secret', '--', 'true'], { env }).done
    assert.equal(r2.code, 3)
    assert.match(r2.stderr, /^Defaulted container "main" out of: main, side\n/)
    assert.match(requests.at(-1)!.url, /command=true&container=main&stdin=false$/)
    assert.equal(requests.at(-1)!.body, '')
  })
})
