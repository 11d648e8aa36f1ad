import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { parse as parseYaml } from 'yaml'
import { VERSION } from '@shoal/agent'
import { AgentProcess, scratchDir, shoal, SHOAL_BIN, type RunResult, API_ONLY } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * The read side of the `shoal` CLI against a real three-agent cluster: get
 * (tables aligned like kubectl's, -o wide|json|yaml|name, -l, --field-selector,
 * -n, -A, kind/name, all, -w), describe with its Events section, logs,
 * cluster-info and version, and kubectl's error lines. Every command runs
 * against each agent in turn, through that agent's kubeconfig and through
 * --server with another agent's kubeconfig (same cluster CA and token): any
 * agent answers reads from its own replica.
 */

/**
 * A kubectl table parsed by its header: a column starts where the header has
 * a name after three spaces. Every row must have its cells exactly under
 * their header (three spaces before each), or the parse fails the test.
 */
function parseTable (text: string): { header: string[], rows: string[][] } {
  const lines = text.split('\n').filter(l => l !== '')
  const head = lines[0] ?? ''
  const starts: number[] = []
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== ' ' && (i === 0 || head.slice(i - 3, i) === '   ')) starts.push(i)
  }
  const cells = (line: string): string[] => starts.map((s, j) => {
    if (s > 0 && line.length > s) assert.equal(line.slice(s - 3, s), '   ', `column ${j} is not aligned in:\n${text}`)
    const cell = line.slice(s, starts[j + 1] ?? line.length)
    assert.ok(cell === '' || cell[0] !== ' ' || cell.trim() === '', `cell ${JSON.stringify(cell)} does not start under its header in:\n${text}`)
    return cell.trim()
  })
  return { header: cells(head), rows: lines.slice(1).map(cells) }
}

const AGE = /^\d+[smhd]/

describe('shoal get / describe / logs / cluster-info / version against a three-agent cluster', () => {
  const scratch = scratchDir('cli-read')
  const agents = [131, 132, 133].map(i => new AgentProcess(scratch.path, `read-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3] = agents as [AgentProcess, AgentProcess, AgentProcess]
  const watchers: ChildProcess[] = []
  interface Route { label: string, flags: string[] }
  let webUid = ''

  /** Both ways to reach `a`: its own kubeconfig, and --server with another agent's kubeconfig. */
  const routes = (a: AgentProcess): [Route, Route] => {
    const other = a === a1 ? a2 : a1
    return [
      { label: `${a.name} via its kubeconfig`, flags: ['--kubeconfig', a.kubeconfig] },
      { label: `${a.name} via --server ${a.ip}`, flags: ['--server', a.ip, '--kubeconfig', other.kubeconfig] }
    ]
  }
  const run = async (args: readonly string[], flags: readonly string[]): Promise<RunResult> => await shoal([...args, ...flags], { timeoutMs: 60_000 })
  const ok = (r: RunResult, what: string): string => {
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`)
    return r.stdout
  }

  const post = async (path: string, body: unknown): Promise<any> => {
    const res = await a1.request('POST', path, { json: body, timeoutMs: 20_000 })
    assert.equal(res.status, 201, `POST ${path}: ${res.text}`)
    return JSON.parse(res.text)
  }
  const names = async (a: AgentProcess, path: string): Promise<string[]> => ((await a.getJson<{ items: Array<{ metadata: { name: string } }> }>(path)).items).map(i => i.metadata.name).sort()
  const container = (name: string, image: string): unknown => ({ name, image })

  before(async () => {
    await a1.start(API_ONLY)
    const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await a2.start(['--join', a1.ip, '--token', token, ...API_ONLY])
    await a3.start(['--join', a1.ip, '--token', token, ...API_ONLY])
    // Writes go through a1 once it can commit (a new cluster needs a moment to elect).
    await waitFor('a writable cluster', async () => (await a1.request('POST', '/api/v1/namespaces', { json: { metadata: { name: 'team' } }, timeoutMs: 5000 })).status === 201, { timeoutMs: 30_000, intervalMs: 250 })
    const web = await post('/api/v1/namespaces/default/pods', {
      metadata: { name: 'web-1', labels: { app: 'web', tier: 'front' }, annotations: { note: 'hello' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }], env: [{ name: 'MODE', value: 'fast' }] }, container('side', 'busybox:1')] }
    })
    webUid = web.metadata.uid
    const db = await post('/api/v1/namespaces/default/pods', { metadata: { name: 'db-0', labels: { app: 'db' } }, spec: { containers: [container('postgres', 'postgres:16')] } })
    await post('/api/v1/namespaces/team/pods', { metadata: { name: 'batch-1', labels: { app: 'batch' } }, spec: { containers: [container('job', 'busybox:1')] } })
    const deploy = await post('/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container('nginx', 'nginx:1.27')] } } }
    })
    await post('/apis/apps/v1/namespaces/default/replicasets', {
      metadata: { name: 'web-5d4f', labels: { app: 'web', 'pod-template-hash': '5d4f' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deploy.metadata.uid, controller: true }] },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f' } }, template: { metadata: { labels: { app: 'web', 'pod-template-hash': '5d4f' } }, spec: { containers: [container('nginx', 'nginx:1.27')] } } }
    })
    await post('/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } })
    await post('/api/v1/namespaces/default/configmaps', { metadata: { name: 'settings' }, data: { mode: 'fast', level: '3' } })
    await post('/api/v1/namespaces/default/configmaps', { metadata: { name: 'a-much-longer-config-name' } })
    const event = (name: string, pod: any, reason: string, message: string, count: number): unknown => ({
      metadata: { name },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace: 'default', uid: pod.metadata.uid },
      reason, message, type: 'Normal', source: { component: 'default-scheduler' }, count,
      firstTimestamp: new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, 'Z'), lastTimestamp: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z')
    })
    await post('/api/v1/namespaces/default/events', event('web-1.1', web, 'Scheduled', 'Successfully assigned default/web-1 to node-1', 3))
    await post('/api/v1/namespaces/default/events', event('db-0.1', db, 'Pulled', 'Container image "postgres:16" already present', 1))
    // A Node object of the test's own (no kubelet reports one here); its status goes through the status subresource.
    await post('/api/v1/nodes', { metadata: { name: 'cli-read-node', labels: { 'node-role.kubernetes.io/worker': '' } } })
    const nodeStatus = await a1.request('PATCH', '/api/v1/nodes/cli-read-node/status', {
      json: { status: { capacity: { cpu: '2', memory: '4Gi', pods: '110' }, addresses: [{ type: 'InternalIP', address: '10.9.9.9' }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }], nodeInfo: { osImage: 'Debian', kubeletVersion: 'shoal' } } },
      headers: { 'content-type': 'application/merge-patch+json' }
    })
    assert.equal(nodeStatus.status, 200, nodeStatus.text)
    // Every agent reads from its own replica: wait until each has everything.
    for (const a of agents) {
      await waitFor(`${a.name} has every object`, async () =>
        (await names(a, '/api/v1/pods')).join() === 'batch-1,db-0,web-1' &&
        // The test's two events; the agents' own Nodes may have events of theirs besides (NodeReady).
        (await names(a, '/api/v1/namespaces/default/events')).filter(n => n === 'db-0.1' || n === 'web-1.1').length === 2 &&
        (await a.getJson<any>('/api/v1/nodes/cli-read-node')).status?.addresses?.[0]?.address === '10.9.9.9' &&
        (await names(a, '/api/v1/namespaces/default/configmaps')).length === 2 &&
        (await names(a, '/api/v1/namespaces/default/services')).includes('web') &&
        (await names(a, '/apis/apps/v1/namespaces/default/replicasets')).includes('web-5d4f'), { timeoutMs: 30_000, intervalMs: 200 })
    }
  })

  after(async () => {
    for (const w of watchers) w.kill('SIGKILL')
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('get prints the server\'s table aligned like kubectl: three spaces between columns, each as wide as its widest cell', async () => {
    for (const a of agents) {
      for (const { label, flags } of routes(a)) {
        const out = ok(await run(['get', 'configmaps'], flags), label)
        assert.match(out, /^NAME {24}DATA {3}AGE\na-much-longer-config-name {3}0 {6}\d+[smh]\S*\nsettings {20}2 {6}\d+[smh]\S*\n$/, `${label}:\n${out}`)
        const pods = parseTable(ok(await run(['get', 'pods'], flags), label))
        assert.deepEqual(pods.header, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], label)
        assert.deepEqual(pods.rows.map(r => [r[0], r[1], r[3]]), [['db-0', '0/1', '0'], ['web-1', '0/2', '0']], label)
        for (const r of pods.rows) assert.match(r[4]!, AGE)
      }
    }
  })

  it('get -o wide adds the priority columns; -A adds NAMESPACE; -n picks the namespace', async () => {
    for (const a of agents) {
      const [{ label, flags }] = routes(a)
      const wide = parseTable(ok(await run(['get', 'pods', '-o', 'wide'], flags), label))
      assert.deepEqual(wide.header, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'])
      assert.deepEqual(wide.rows.map(r => r.slice(5)), [['<none>', '<none>', '<none>', '<none>'], ['<none>', '<none>', '<none>', '<none>']])
      const deploys = parseTable(ok(await run(['get', 'deploy', '-o', 'wide'], flags), label))
      assert.deepEqual(deploys.header, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'])
      assert.deepEqual([deploys.rows[0]![0], deploys.rows[0]![1], ...deploys.rows[0]!.slice(5)], ['web', '0/2', 'nginx', 'nginx:1.27', 'app=web'])
      const all = parseTable(ok(await run(['get', 'pods', '-A'], flags), label))
      assert.deepEqual(all.header, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])
      assert.deepEqual(all.rows.map(r => `${r[0]}/${r[1]}`).sort(), ['default/db-0', 'default/web-1', 'team/batch-1'])
      const team = parseTable(ok(await run(['get', 'pods', '-n', 'team'], flags), label))
      assert.deepEqual(team.rows.map(r => r[0]), ['batch-1'])
    }
  })

  it('get -l and --field-selector filter on the server; --show-labels adds LABELS', async () => {
    for (const a of agents) {
      for (const { label, flags } of routes(a)) {
        const web = parseTable(ok(await run(['get', 'pods', '-l', 'app=web', '--show-labels'], flags), label))
        assert.deepEqual(web.rows.map(r => [r[0], r[r.length - 1]]), [['web-1', 'app=web,tier=front']], label)
        assert.equal(web.header[web.header.length - 1], 'LABELS')
        const notWeb = parseTable(ok(await run(['get', 'pods', '-A', '-l', 'app notin (web)'], flags), label))
        assert.deepEqual(notWeb.rows.map(r => r[1]).sort(), ['batch-1', 'db-0'])
        const db = parseTable(ok(await run(['get', 'pods', '--field-selector', 'metadata.name=db-0'], flags), label))
        assert.deepEqual(db.rows.map(r => r[0]), ['db-0'])
      }
    }
  })

  it('get -o name, -o json and -o yaml print the objects as kubectl does', async () => {
    for (const a of agents) {
      const [{ label, flags }] = routes(a)
      assert.equal(ok(await run(['get', 'deploy/web', '-o', 'name'], flags), label), 'deployment.apps/web\n')
      assert.equal(ok(await run(['get', 'pods', '-o', 'name'], flags), label), 'pod/db-0\npod/web-1\n')
      const one = JSON.parse(ok(await run(['get', 'pod', 'web-1', '-o', 'json'], flags), label))
      assert.equal(one.kind, 'Pod')
      assert.equal(one.apiVersion, 'v1')
      assert.equal(one.metadata.uid, webUid)
      const jsonText = ok(await run(['get', 'pods', '-o', 'json'], flags), label)
      assert.match(jsonText, /^\{\n {4}"apiVersion": "v1",\n {4}"items": \[/, 'sorted keys, four-space indent')
      const list = JSON.parse(jsonText)
      assert.equal(list.kind, 'List')
      assert.deepEqual(list.metadata, { resourceVersion: '' })
      assert.deepEqual(list.items.map((i: any) => `${i.kind}/${i.metadata.name}`), ['Pod/db-0', 'Pod/web-1'])
      const yamlText = ok(await run(['get', 'pods', '-o', 'yaml'], flags), label)
      assert.match(yamlText, /^apiVersion: v1\nitems:\n- apiVersion: v1\n {2}kind: Pod\n/)
      assert.match(yamlText, /creationTimestamp: "\d{4}-/, 'timestamps quoted as kubectl quotes them')
      assert.deepEqual(parseYaml(yamlText), list)
      const two = JSON.parse(ok(await run(['get', 'deploy/web', 'svc/web', '-o', 'json'], flags), label))
      assert.deepEqual(two.items.map((i: any) => `${i.kind}/${i.metadata.name}`), ['Deployment/web', 'Service/web'])
    }
  })

  it('get KIND NAME…, KIND/NAME and all: one table per kind, names as kind/name when there are several kinds', async () => {
    for (const a of agents) {
      const [{ label, flags }] = routes(a)
      const both = parseTable(ok(await run(['get', 'pods', 'web-1', 'db-0'], flags), label))
      assert.deepEqual(both.rows.map(r => r[0]), ['web-1', 'db-0'])
      const slash = ok(await run(['get', 'pod/web-1', 'deploy/web'], flags), label)
      const [pods, deploys] = slash.split('\n\n')
      assert.deepEqual(parseTable(pods!).rows.map(r => r[0]), ['pod/web-1'])
      assert.deepEqual(parseTable(deploys!).rows.map(r => r[0]), ['deployment.apps/web'])
      const all = ok(await run(['get', 'all'], flags), label).split('\n\n').map(parseTable)
      assert.deepEqual(all.map(t => t.header[1]), ['READY', 'TYPE', 'READY', 'DESIRED'], 'pods, services, deployments, replicasets')
      assert.deepEqual(all.map(t => t.rows.map(r => r[0])), [['pod/db-0', 'pod/web-1'], ['service/web'], ['deployment.apps/web'], ['replicaset.apps/web-5d4f']])
      const nodes = parseTable(ok(await run(['get', 'nodes', 'cli-read-node', '-o', 'wide'], flags), label))
      assert.deepEqual(nodes.rows.map(r => [r[0], r[1], r[2], r[5]]), [['cli-read-node', 'Ready', 'worker', '10.9.9.9']])
    }
  })

  it('nothing to show: "No resources found in NS namespace." on stderr, exit 0; an empty List for -o json', async () => {
    const flags = routes(a2)[1].flags
    const empty = await run(['get', 'deploy', '-n', 'nothing-here'], flags)
    assert.equal(empty.code, 0)
    assert.equal(empty.stdout, '')
    assert.equal(empty.stderr, 'No resources found in nothing-here namespace.\n')
    const emptyAll = await run(['get', 'pods', '-A', '-l', 'app=none'], flags)
    assert.equal(emptyAll.stderr, 'No resources found\n')
    const json = await run(['get', 'deploy', '-n', 'nothing-here', '-o', 'json'], flags)
    assert.deepEqual(JSON.parse(json.stdout), { apiVersion: 'v1', items: [], kind: 'List', metadata: { resourceVersion: '' } })
    assert.equal(json.stderr, '')
  })

  it('errors are one line with kubectl\'s wording, and exit 1', async () => {
    for (const a of agents) {
      for (const { label, flags } of routes(a)) {
        const missing = await run(['get', 'pods', 'nope'], flags)
        assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', 'Error from server (NotFound): pods "nope" not found\n'], label)
      }
      const flags = routes(a)[0].flags
      const deploy = await run(['describe', 'deployment', 'nope'], flags)
      assert.deepEqual([deploy.code, deploy.stderr], [1, 'Error from server (NotFound): deployments.apps "nope" not found\n'])
      const some = await run(['get', 'pods', 'web-1', 'nope'], flags)
      assert.equal(some.code, 1, 'one name missing fails the command')
      assert.deepEqual(parseTable(some.stdout).rows.map(r => r[0]), ['web-1'], 'but the others still print')
      assert.equal(some.stderr, 'Error from server (NotFound): pods "nope" not found\n')
      const kind = await run(['get', 'foo'], flags)
      assert.deepEqual([kind.code, kind.stderr], [1, 'error: the server doesn\'t have a resource type "foo"\n'])
      const badSelector = await run(['get', 'pods', '-l', 'app in'], flags)
      assert.equal(badSelector.code, 1)
      assert.match(badSelector.stderr, /^Error from server \(BadRequest\): invalid label selector "app in": .*\n$/)
    }
    // A port of this test's own address where no agent listens.
    const nobody = await run(['get', 'pods', '--server', `${a1.ip}:1`, '--kubeconfig', a1.kubeconfig], [])
    assert.equal(nobody.code, 1)
    assert.equal(nobody.stderr.split('\n').filter(l => l !== '').length, 1, nobody.stderr)
    assert.match(nobody.stderr, /^error: cannot reach 127\.0\.0\.131:1: connection refused/)
  })

  it('describe pod: kubectl\'s report, ending with the events about that pod and no other', async () => {
    for (const a of agents) {
      for (const { label, flags } of routes(a)) {
        const out = ok(await run(['describe', 'pod', 'web-1'], flags), label)
        assert.match(out, /^Name: {9}web-1\nNamespace: {4}default\n/, out)
        assert.match(out, /\nLabels: {7}app=web\n {14}tier=front\nAnnotations: {2}note: hello\n/)
        assert.match(out, /\nContainers:\n {2}nginx:\n {4}Image: {6}nginx:1\.27\n {4}Port: {7}80\/TCP\n/)
        assert.match(out, /\n {4}Environment:\n {6}MODE: {2}fast\n {4}Mounts: {2}<none>\n/)
        assert.match(out, /\n {2}side:\n {4}Image: {8}busybox:1\n {4}Port: {9}<none>\n(.*\n){3}Volumes: {10}<none>\n/, 'one column block from the side container down to Tolerations')
        assert.match(out, /\nEvents:\n {2}Type {4}Reason {5}Age +From {15}Message\n {2}---- {4}------ {5}---- +---- {15}-------\n {2}Normal {2}Scheduled {2}\S+ \(x3 over \d+m\) {2}default-scheduler {2}Successfully assigned default\/web-1 to node-1\n$/, out)
        assert.doesNotMatch(out, /postgres/, 'the event about db-0 is not web-1\'s')
      }
    }
  })

  it('describe deployment, replicaset, service, namespace, node and the generic fallback', async () => {
    for (const a of agents) {
      const [{ label, flags }] = routes(a)
      const deploy = ok(await run(['describe', 'deploy/web'], flags), label)
      assert.match(deploy, /\nReplicas: {15}2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable\n/)
      assert.match(deploy, /\nPod Template:\n {2}Labels: {2}app=web\n {2}Containers:\n {3}nginx:\n/)
      assert.match(deploy, /\nOldReplicaSets: +<none>\nNewReplicaSet: +web-5d4f \(0\/2 replicas created\)\nEvents: +<none>\n$/)
      const rs = ok(await run(['describe', 'rs', 'web-5d4f'], flags), label)
      assert.match(rs, /\nControlled By: +Deployment\/web\nReplicas: +0 current \/ 2 desired\nPods Status: +0 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed\n/)
      const svc = ok(await run(['describe', 'service', 'web'], flags), label)
      assert.match(svc, /\nSelector: +app=web\nType: +ClusterIP\n/)
      assert.match(svc, /\nPort: +<unset> {2}80\/TCP\nTargetPort: +8080\/TCP\n/)
      const ns = ok(await run(['describe', 'namespace', 'team'], flags), label)
      assert.match(ns, /^Name: +team\n/)
      const node = ok(await run(['describe', 'node', 'cli-read-node'], flags), label)
      assert.match(node, /^Name: +cli-read-node\nRoles: +worker\n/)
      assert.match(node, /\nAddresses:\n {2}InternalIP: {2}10\.9\.9\.9\n/)
      assert.match(node, /\nNon-terminated Pods: +\(0 in total\)\n/)
      const cm = ok(await run(['describe', 'cm', 'settings'], flags), label)
      assert.match(cm, /\nData\n====\nlevel:\n----\n3\n\nmode:\n----\nfast\n/)
      const ev = ok(await run(['describe', 'event', 'web-1.1'], flags), label)
      assert.match(ev, /\nInvolved Object:\n {2}API Version: +v1\n {2}Kind: +Pod\n {2}Name: +web-1\n/)
      assert.match(ev, /\nEvents: +<none>\n$/)
    }
  })

  it('describe without a name describes every object of the kind (matching -l); a name prefix matches too', async () => {
    const [{ flags }] = routes(a3)
    const pods = ok(await run(['describe', 'pods'], flags), 'describe pods')
    assert.deepEqual([...pods.matchAll(/^Name: +(\S+)$/gm)].map(m => m[1]), ['db-0', 'web-1'])
    assert.match(pods, /\nEvents:\n(.*\n){2} {2}Normal {2}Pulled .*postgres:16.*\n\n\nName: +web-1\n/, 'each report has its own events, two blank lines apart')
    const labelled = ok(await run(['describe', 'pods', '-l', 'app=db'], flags), 'describe -l')
    assert.deepEqual([...labelled.matchAll(/^Name: +(\S+)$/gm)].map(m => m[1]), ['db-0'])
    const prefix = ok(await run(['describe', 'pods', 'we'], flags), 'describe prefix')
    assert.deepEqual([...prefix.matchAll(/^Name: +(\S+)$/gm)].map(m => m[1]), ['web-1'])
    const none = await run(['describe', 'pods', '-n', 'nothing-here'], flags)
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, '', 'No resources found in nothing-here namespace.\n'])
  })

  it('logs of a pod no node runs: one error line, exit 1', async () => {
    for (const a of agents) {
      const [{ label, flags }] = routes(a)
      const r = await run(['logs', 'db-0'], flags)
      assert.equal(r.code, 1, label)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /^Error from server \((BadRequest|NotFound)\): [^\n]*db-0[^\n]*\n$/, r.stderr)
      const two = await run(['logs', 'web-1', '--tail', '5', '-f'], flags)
      assert.equal(two.code, 1)
      assert.match(two.stderr, /^Defaulted container "nginx" out of: nginx, side\nError from server \((BadRequest|NotFound)\): [^\n]*web-1[^\n]*\n$/, two.stderr)
      const missing = await run(['logs', 'nope'], flags)
      assert.deepEqual([missing.code, missing.stderr], [1, 'Error from server (NotFound): pods "nope" not found\n'])
    }
  })

  it('version prints the client and server versions (--client only the client); cluster-info names the agent asked', async () => {
    for (const a of agents) {
      for (const { label, flags } of routes(a)) {
        assert.equal(ok(await run(['version'], flags), label), `Client Version: v${VERSION}\nServer Version: v1.32.0-shoal-${VERSION}\n`)
        assert.match(ok(await run(['cluster-info'], flags), label), new RegExp(`^Kubernetes control plane is running at https://${a.ip.replaceAll('.', '\\.')}:6443\n`))
      }
    }
    const client = await run(['version', '--client', '--server', `${a1.ip}:1`], [])
    assert.deepEqual([client.code, client.stdout], [0, `Client Version: v${VERSION}\n`])
    const down = await run(['version', '--server', `${a1.ip}:1`, '--kubeconfig', a1.kubeconfig], [])
    assert.equal(down.code, 1)
    assert.equal(down.stdout, `Client Version: v${VERSION}\n`, 'the client version prints even when no agent answers')
    assert.match(down.stderr, /^error: cannot reach 127\.0\.0\.131:1/)
  })

  it('every read command has --help with examples', async () => {
    for (const cmd of ['get', 'describe', 'logs', 'cluster-info', 'version']) {
      const r = await shoal([cmd, '--help'])
      assert.equal(r.code, 0)
      assert.match(r.stdout, new RegExp(`\\$ shoal ${cmd}`))
      assert.match(r.stdout, new RegExp(`Examples:\\nshoal ${cmd}`))
    }
  })

  /** Spawn a long-running `shoal` (get -w) and collect its output. */
  const spawnShoal = (args: readonly string[]): { out: () => string, err: () => string } => {
    const child = spawn(process.execPath, [SHOAL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    watchers.push(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    return { out: () => out, err: () => err }
  }

  it('get -w prints the table, then an aligned row per change: ADDED, MODIFIED, DELETED in order', async () => {
    const withEvents = spawnShoal(['get', 'configmaps', '-w', '--output-watch-events', '--kubeconfig', a2.kubeconfig])
    const plain = spawnShoal(['get', 'pods', '-w', '-l', 'app=watched', '--server', a3.ip, '--kubeconfig', a1.kubeconfig])
    await waitFor('the initial table', () => withEvents.out().includes('settings'), { timeoutMs: 30_000 })
    // Changes go through a1; the watchers are on a2 and a3.
    await post('/api/v1/namespaces/default/configmaps', { metadata: { name: 'watched' }, data: { k: 'v' } })
    const patched = await a1.request('PATCH', '/api/v1/namespaces/default/configmaps/watched', { json: { data: { k: 'v', k2: 'v2' } }, headers: { 'content-type': 'application/merge-patch+json' } })
    assert.equal(patched.status, 200, patched.text)
    assert.equal((await a1.request('DELETE', '/api/v1/namespaces/default/configmaps/watched')).status, 200)
    // The pod watcher's list may come before or after the create (ADDED either way); the delete waits until it has seen the pod.
    await post('/api/v1/namespaces/default/pods', { metadata: { name: 'watch-1', labels: { app: 'watched' } }, spec: { containers: [container('c', 'busybox:1')] } })
    await waitFor('the pod added', () => /^watch-1 /m.test(plain.out()), { timeoutMs: 30_000 })
    assert.equal((await a1.request('DELETE', '/api/v1/namespaces/default/pods/watch-1')).status, 200)

    await waitFor('three events for watched', () => (withEvents.out().match(/ watched /g) ?? []).length === 3, { timeoutMs: 30_000 })
    const table = parseTable(withEvents.out())
    assert.deepEqual(table.header, ['EVENT', 'NAME', 'DATA', 'AGE'])
    assert.deepEqual(table.rows.map(r => [r[0], r[1], r[2]]), [
      ['ADDED', 'a-much-longer-config-name', '0'], ['ADDED', 'settings', '2'],
      ['ADDED', 'watched', '1'], ['MODIFIED', 'watched', '2'], ['DELETED', 'watched', '2']
    ], withEvents.out())

    await waitFor('the pod added and deleted', () => (plain.out().match(/^watch-1 /gm) ?? []).length === 2, { timeoutMs: 30_000 })
    const pods = parseTable(plain.out())
    assert.deepEqual(pods.header, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], 'an empty list prints its header with the first event')
    assert.deepEqual(pods.rows.map(r => [r[0], r[1]]), [['watch-1', '0/1'], ['watch-1', '0/1']])
    assert.equal(plain.err(), '', 'no "No resources found" for a watch')
  })

  it('get -w -o name and --watch-only print only the changes asked for', async () => {
    const names = spawnShoal(['get', 'deploy', '-w', '-o', 'name', '--kubeconfig', a3.kubeconfig])
    const only = spawnShoal(['get', 'deploy', '--watch-only', '--kubeconfig', a1.kubeconfig])
    await waitFor('the initial name', () => names.out() === 'deployment.apps/web\n', { timeoutMs: 30_000 })
    // --watch-only prints nothing until something changes, so nothing shows when its watch starts: change web until it prints.
    let change = 0
    await waitFor('web changed until the watch-only prints it', async () => {
      const res = await a1.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', { json: { metadata: { labels: { change: String(++change) } } }, headers: { 'content-type': 'application/merge-patch+json' } })
      assert.equal(res.status, 200, res.text)
      return only.out().includes('web')
    }, { timeoutMs: 30_000, intervalMs: 500 })
    const table = parseTable(only.out())
    assert.deepEqual(table.header, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'])
    assert.ok(table.rows.length > 0 && table.rows.every(r => r[0] === 'web' && r[1] === '0/2'), only.out())
    await waitFor('the name printed again for the change', () => names.out().startsWith('deployment.apps/web\ndeployment.apps/web\n'), { timeoutMs: 30_000 })
  })

  it('a watch ends with an error when its agent goes away', async () => {
    const w = spawnShoal(['get', 'pods', '-w', '--kubeconfig', a3.kubeconfig])
    const child = watchers[watchers.length - 1]!
    const exited = once(child, 'exit')
    await waitFor('the initial table', () => w.out().includes('web-1'), { timeoutMs: 30_000 })
    await a3.destroy()
    const [code] = await exited as [number | null]
    assert.equal(code, 1)
    assert.match(w.err(), /^error: (lost the watch on|cannot reach) 127\.0\.0\.133:6443/)
  })
})
