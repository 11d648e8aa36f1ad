import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentProcess, scratchDir } from './helpers/agents.ts'
import { createObject } from './helpers/store.ts'

/** Run the stock kubectl against an agent; resolves with its exit code and output. */
function kubectl (server: string, dir: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile('kubectl', [`--server=${server}`, `--cache-dir=${join(dir, 'cache')}`, ...args], { env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

const haveKubectl = await new Promise<boolean>(resolve => execFile('kubectl', ['version', '--client'], err => resolve(err === null)))

/** The stock kubectl reads the cluster through any agent: version, discovery, get. */
describe('the stock kubectl against an agent', { skip: haveKubectl ? false : 'kubectl is not installed on this machine' }, () => {
  const scratch = scratchDir('kubectl')
  const agent = new AgentProcess(scratch.path, 'kube-1', '127.0.0.51')
  const server = `http://${agent.ip}:6443`

  before(async () => {
    writeFileSync(join(scratch.path, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n')
    await agent.start()
    for (const name of ['alpha', 'beta']) assert.equal((await createObject(agent, name, { greeting: `hello ${name}` })).status, 200)
  })

  after(async () => {
    await agent.destroy()
    scratch.remove()
  })

  it('kubectl version reports the server', async () => {
    const r = await kubectl(server, scratch.path, ['version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Server Version: v1\.32\.0-shoal-/)
  })

  it('kubectl get lists objects, by plural and by short name', async () => {
    for (const what of ['configmaps', 'cm']) {
      const r = await kubectl(server, scratch.path, ['get', what])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^NAME\s+AGE\nalpha\s+\S+\nbeta\s+\S+\n$/)
    }
  })

  it('kubectl get -o json returns the stored object', async () => {
    const r = await kubectl(server, scratch.path, ['get', 'configmap', 'beta', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const obj = JSON.parse(r.stdout) as { kind: string, data: Record<string, string>, metadata: { namespace: string } }
    assert.equal(obj.kind, 'ConfigMap')
    assert.equal(obj.metadata.namespace, 'default')
    assert.deepEqual(obj.data, { greeting: 'hello beta' })
  })

  it('an empty kind and a missing object read as kubectl users expect', async () => {
    const empty = await kubectl(server, scratch.path, ['get', 'deploy'])
    assert.equal(empty.code, 0, empty.stderr)
    assert.match(empty.stderr, /No resources found in default namespace\./)
    const missing = await kubectl(server, scratch.path, ['get', 'pod', 'nope'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /Error from server \(NotFound\): pods "nope" not found/)
  })
})
