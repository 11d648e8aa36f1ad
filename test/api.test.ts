import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:https'
import { X509Certificate } from 'node:crypto'
import { connect } from 'node:tls'
import { readFileSync, statSync } from 'node:fs'
import { AgentProcess, scratchDir, shoal, API_ONLY } from './helpers/agents.ts'
import { readKubeconfig } from '@shoal/cli/client.ts'
import { waitFor } from './helpers/wait.ts'
import { raftStatus } from './helpers/store.ts'

/** A raw HTTPS GET with the given headers, trusting `ca`; resolves with the status code. */
function rawGet (ip: string, path: string, ca: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 6443, path, ca, headers, timeout: 5000 }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end()
  })
}

/** The certificate an agent serves. */
function servedCertificate (ip: string, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: 6443, ca, servername: '' }, () => {
      const cert = socket.getPeerX509Certificate()
      socket.end()
      if (cert === undefined) reject(new Error('no certificate')); else resolve(cert)
    })
    socket.on('error', reject)
  })
}

interface NodeView { metadata: { name: string }, status: { conditions: Array<{ type: string, status: string, reason: string }>, addresses: Array<{ type: string, address: string }> } }
const readyOf = (n: NodeView): string => n.status.conditions.find(c => c.type === 'Ready')?.status ?? 'none'

/**
 * The API's security and the objects the cluster keeps by itself: HTTPS
 * with the cluster CA on every agent, the bearer token, Node objects that
 * follow membership, and the status subresource.
 */
describe('the API of a three-agent cluster', () => {
  const scratch = scratchDir('api')
  const agents = [55, 56, 57].map(i => new AgentProcess(scratch.path, `api-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3] = agents as [AgentProcess, AgentProcess, AgentProcess]

  before(async () => {
    await a1.start(API_ONLY)
    const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await Promise.all([a2, a3].map(async a => await a.start(['--join', a1.ip, '--token', token, ...API_ONLY])))
  })

  after(async () => {
    await Promise.all(agents.map(async a => await a.destroy()))
    if (process.env.KEEP === undefined) scratch.remove()
  })

  it('each kubeconfig names its own agent, and all trust one cluster CA with one token', () => {
    const configs = agents.map(a => readKubeconfig(a.kubeconfig))
    configs.forEach((k, i) => assert.equal(k.server, `https://${agents[i]!.ip}:6443`))
    assert.ok(configs[0]!.ca?.includes('BEGIN CERTIFICATE'))
    assert.ok(configs.every(k => k.ca === configs[0]!.ca && k.token === configs[0]!.token))
    assert.match(configs[0]!.token ?? '', /^shoal-admin\.[0-9a-f]{32}$/)
  })

  it('every agent serves a certificate from the cluster CA that names its address', async () => {
    const ca = readKubeconfig(a1.kubeconfig).ca!
    const caCert = new X509Certificate(ca)
    assert.equal(caCert.ca, true)
    for (const a of agents) {
      const cert = await servedCertificate(a.ip, ca)
      assert.ok(cert.verify(caCert.publicKey), `${a.name}'s certificate is signed by the cluster CA`)
      assert.equal(cert.checkIP(a.ip), a.ip)
      assert.equal(cert.checkIP('127.0.0.99'), undefined)
    }
  })

  it('a request without the token, or with a wrong one, gets 401; the probes answer without it', async () => {
    const { ca, token } = readKubeconfig(a2.kubeconfig)
    assert.equal(await rawGet(a2.ip, '/api/v1/namespaces', ca!), 401)
    assert.equal(await rawGet(a2.ip, '/api/v1/namespaces', ca!, { authorization: 'Bearer shoal-admin.00000000000000000000000000000000' }), 401)
    assert.equal(await rawGet(a2.ip, '/api/shoal/v1/members', ca!, { authorization: 'Basic YWRtaW46YWRtaW4=' }), 401)
    assert.equal(await rawGet(a2.ip, '/api/v1/namespaces', ca!, { authorization: `Bearer ${token!}` }), 200)
    for (const probe of ['/healthz', '/readyz', '/livez']) assert.equal(await rawGet(a2.ip, probe, ca!), 200, probe)
    const res = await new Promise<string>((resolve, reject) => {
      request({ host: a2.ip, port: 6443, path: '/api/v1/pods', ca }, r => { let body = ''; r.on('data', (c: Buffer) => { body += c.toString() }); r.on('end', () => resolve(body)) }).on('error', reject).end()
    })
    assert.deepEqual(JSON.parse(res), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 })
  })

  it('the CLI with a wrong token says so in one line', async () => {
    const r = await shoal(['members', '--server', a3.ip, '--kubeconfig', a1.kubeconfig, '--token', 'shoal-admin.nope'])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `error: ${a3.ip}:6443 refused the request: Unauthorized (the token is missing or not this cluster's)\n`)
  })

  it('every member has a Ready Node with its address; a killed one turns Unknown, one that leaves is removed', async () => {
    await waitFor('three voters', async () => (await raftStatus(a1)).conf.voters.length === 3, { timeoutMs: 15_000 })
    const nodes = async (from: AgentProcess): Promise<NodeView[]> => (await from.getJson<{ items: NodeView[] }>('/api/v1/nodes')).items
    await waitFor('three Ready nodes', async () => {
      const items = await nodes(a2)
      return items.length === 3 && items.every(n => readyOf(n) === 'True')
    }, { timeoutMs: 15_000 })
    const n3 = (await nodes(a1)).find(n => n.metadata.name === a3.name)!
    assert.deepEqual(n3.status.addresses, [{ type: 'InternalIP', address: a3.ip }, { type: 'Hostname', address: a3.name }])

    a3.kill('SIGKILL')
    await a3.waitExit()
    await waitFor(`${a3.name} Unknown`, async () => (await nodes(a1)).find(n => n.metadata.name === a3.name)?.status.conditions[0]?.reason === 'NodeStatusUnknown', { timeoutMs: 15_000 })
    assert.equal(readyOf((await nodes(a2)).find(n => n.metadata.name === a1.name)!), 'True')
    // The event is a write of its own: a2's replica has it a moment later.
    await waitFor('a NodeNotReady event on a2', async () => {
      const events = (await a2.getJson<{ items: Array<{ reason: string, involvedObject: { name: string } }> }>('/api/v1/namespaces/default/events')).items
      return events.some(e => e.reason === 'NodeNotReady' && e.involvedObject.name === a3.name)
    })

    await a3.start(API_ONLY)
    await waitFor(`${a3.name} Ready again`, async () => readyOf((await nodes(a1)).find(n => n.metadata.name === a3.name)!) === 'True', { timeoutMs: 15_000 })
    const left = await shoal(['leave', '--data-dir', a3.dataDir])
    assert.equal(left.code, 0, left.stderr)
    await waitFor(`${a3.name}'s Node removed`, async () => (await nodes(a1)).every(n => n.metadata.name !== a3.name), { timeoutMs: 15_000 })
  })

  it('the status subresource: PUT and PATCH of the object keep the status, /status changes only the status', async () => {
    const base = '/apis/apps/v1/namespaces/default/deployments'
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'st' }, spec: { replicas: 2, selector: { matchLabels: { app: 'st' } }, template: { metadata: { labels: { app: 'st' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } }, status: { replicas: 9 } }
    const created = await a1.request('POST', base, { json: deployment })
    assert.equal(created.status, 201, created.text)
    assert.equal(JSON.parse(created.text).status, undefined, 'a create starts without status')

    const st = await a2.request('PUT', `${base}/st/status`, { json: { ...deployment, spec: { ...deployment.spec, replicas: 7 }, status: { replicas: 2, readyReplicas: 1 } } })
    assert.equal(st.status, 200, st.text)
    const afterStatus = JSON.parse(st.text)
    assert.deepEqual(afterStatus.status, { replicas: 2, readyReplicas: 1 })
    assert.equal(afterStatus.spec.replicas, 2, 'a status write leaves spec alone')
    assert.equal(afterStatus.metadata.generation, 1)

    const put = await a1.request('PUT', `${base}/st`, { json: { ...deployment, spec: { ...deployment.spec, replicas: 3 }, status: { replicas: 0 } } })
    assert.equal(put.status, 200, put.text)
    assert.deepEqual(JSON.parse(put.text).status, { replicas: 2, readyReplicas: 1 })
    assert.equal(JSON.parse(put.text).spec.replicas, 3)

    const patch = await a1.request('PATCH', `${base}/st/status`, { body: JSON.stringify({ status: { readyReplicas: 2 }, spec: { replicas: 1 } }), headers: { 'content-type': 'application/merge-patch+json' } })
    assert.equal(patch.status, 200, patch.text)
    assert.deepEqual(JSON.parse(patch.text).status, { replicas: 2, readyReplicas: 2 })
    assert.equal(JSON.parse(patch.text).spec.replicas, 3)

    const cm = await a1.request('PUT', '/api/v1/namespaces/default/configmaps/none/status', { json: {} })
    assert.equal(cm.status, 404)
  })

  it('pod logs and exec say why there is nothing to read yet', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lonely' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }
    const created = await a1.request('POST', '/api/v1/namespaces/default/pods', { json: pod })
    assert.equal(created.status, 201, created.text)
    assert.deepEqual(JSON.parse(created.text).status, { phase: 'Pending' })
    // a2 reads its own replica, which may not have the write through a1 yet.
    await waitFor('a2 has the pod', async () => (await a2.request('GET', '/api/v1/namespaces/default/pods/lonely')).status === 200)
    const logs = await a2.request('GET', '/api/v1/namespaces/default/pods/lonely/log')
    assert.equal(logs.status, 400)
    assert.equal(JSON.parse(logs.text).message, 'pod "lonely" is not running on any node yet')
    assert.equal((await a2.request('GET', '/api/v1/namespaces/default/pods/ghost/log')).status, 404)
    assert.equal((await a2.request('POST', '/api/v1/namespaces/default/pods/lonely/exec?command=ls')).status, 400)
  })

  it('DELETE takes Kubernetes\' DeleteOptions: an unknown propagationPolicy is a 400 and deletes nothing; a stale precondition a 409', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed' }, data: { a: '1' } }
    const created = await a1.request('POST', '/api/v1/namespaces/default/configmaps', { json: cm })
    assert.equal(created.status, 201, created.text)
    const bad = await a1.request('DELETE', '/api/v1/namespaces/default/configmaps/doomed', { json: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' } })
    assert.equal(bad.status, 400)
    assert.match(JSON.parse(bad.text).message, /^propagationPolicy: Unsupported value: "Sideways"/)
    const stale = await a1.request('DELETE', '/api/v1/namespaces/default/configmaps/doomed', { json: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-its-uid' } } })
    assert.equal(stale.status, 409, stale.text)
    assert.equal((await a1.request('GET', '/api/v1/namespaces/default/configmaps/doomed')).status, 200)
    const ok = await a1.request('DELETE', '/api/v1/namespaces/default/configmaps/doomed', { json: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } })
    assert.equal(ok.status, 200, ok.text)
    assert.equal((await a1.request('GET', '/api/v1/namespaces/default/configmaps/doomed')).status, 404)
  })

  it('the kubeconfig is owner-only and carries the CA and the token', () => {
    assert.equal(statSync(a1.kubeconfig).mode & 0o777, 0o600)
    const text = readFileSync(a1.kubeconfig, 'utf8')
    assert.match(text, /certificate-authority-data: [A-Za-z0-9+/=]+\n/)
    assert.match(text, /token: shoal-admin\./)
  })
})
