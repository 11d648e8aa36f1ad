import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentProcess, scratchDir, shoal, API_ONLY } from './helpers/agents.ts'
import { createObject } from './helpers/store.ts'
import { waitFor } from './helpers/wait.ts'

/** Run the stock kubectl against an agent; resolves with its exit code and output. */
function kubectl (kubeconfig: string, dir: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.env.KUBECTL ?? 'kubectl', [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'cache')}`, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

const haveKubectl = await new Promise<boolean>(resolve => execFile(process.env.KUBECTL ?? 'kubectl', ['version', '--client'], err => resolve(err === null)))

/** The stock kubectl reads the cluster through any agent: version, discovery, get. */
describe('the stock kubectl against an agent', { skip: haveKubectl ? false : 'kubectl is not installed on this machine' }, () => {
  const scratch = scratchDir('kubectl')
  const agent = new AgentProcess(scratch.path, 'kube-1', '127.0.0.51')
  const server = join(scratch.path, 'kube-1', 'kubeconfig')

  before(async () => {
    await agent.start(API_ONLY)
    for (const name of ['alpha', 'beta']) assert.equal((await createObject(agent, name, { greeting: `hello ${name}` })).status, 200)
  })

  after(async () => {
    await agent.destroy()
    scratch.remove()
  })

  it('every agent writes a kubeconfig for its own API, owner-only; shoal kubeconfig prints it', async () => {
    const printed = await shoal(['kubeconfig', '--data-dir', agent.dataDir])
    assert.equal(printed.stdout, readFileSync(server, 'utf8'))
    assert.match(printed.stdout, /server: https:\/\/127\.0\.0\.51:6443/)
    assert.equal(statSync(server).mode & 0o777, 0o600)
    const members = await shoal(['members', '--kubeconfig', server])
    assert.equal(members.code, 0, members.stderr)
    assert.match(members.stdout, /kube-1\s+alive\s+leader/)
  })

  it('kubectl get nodes lists the agent as a Ready node; -o wide shows its address', async () => {
    await waitFor('kube-1 Ready', async () => {
      const r = await kubectl(server, scratch.path, ['get', 'nodes'])
      return r.code === 0 && /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nkube-1\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0-shoal-\S+\n$/.test(r.stdout)
    }, { timeoutMs: 10_000 })
    const wide = await kubectl(server, scratch.path, ['get', 'nodes', '-o', 'wide'])
    assert.match(wide.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME\n/)
    assert.match(wide.stdout, /\nkube-1\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0-shoal-\S+\s+127\.0\.0\.51\s+<none>/)
  })

  it('kubectl without the token is refused: 401', async () => {
    const noToken = join(scratch.path, 'no-token.kubeconfig')
    writeFileSync(noToken, readFileSync(server, 'utf8').replace(/token: \S+/, 'token: wrong'))
    const r = await kubectl(noToken, scratch.path, ['get', 'pods'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /Unauthorized|must be logged in/)
  })

  it('kubectl version reports the server', async () => {
    const r = await kubectl(server, scratch.path, ['version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Server Version: (version\.Info\{.*GitVersion:")?v1\.32\.0-shoal-/)
  })

  it('kubectl get lists objects, by plural and by short name', async () => {
    for (const what of ['configmaps', 'cm']) {
      const r = await kubectl(server, scratch.path, ['get', what])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^NAME\s+DATA\s+AGE\nalpha\s+1\s+\d+s\nbeta\s+1\s+\d+s\n$/)
    }
  })

  it('a new cluster has the default and kube-system namespaces', async () => {
    // The first leader writes them within one voter-manager round (0.5 s).
    await waitFor('both namespaces', async () => {
      const r = await kubectl(server, scratch.path, ['get', 'namespaces'])
      return r.code === 0 && /^NAME\s+STATUS\s+AGE\ndefault\s+Active\s+\S+\nkube-system\s+Active\s+\S+\n$/.test(r.stdout)
    }, { timeoutMs: 5000, intervalMs: 100 })
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

  it('kubectl apply creates a real multi-document manifest, then configures a change, then leaves it unchanged', async () => {
    const manifest = (replicas: number): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: nginx
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
    const file = join(scratch.path, 'app.yaml')
    writeFileSync(file, manifest(3))
    const first = await kubectl(server, scratch.path, ['apply', '-f', file])
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /deployment\.apps\/nginx-deployment created\nservice\/my-service created/)
    writeFileSync(file, manifest(5))
    const second = await kubectl(server, scratch.path, ['apply', '-f', file])
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /deployment\.apps\/nginx-deployment configured\nservice\/my-service unchanged/)
    const dep = JSON.parse((await kubectl(server, scratch.path, ['get', 'deploy', 'nginx-deployment', '-o', 'json'])).stdout) as { spec: { replicas: number, template: { spec: { containers: Array<{ ports: unknown[], imagePullPolicy: string }> } } }, metadata: { generation: number } }
    assert.equal(dep.spec.replicas, 5)
    assert.equal(dep.metadata.generation, 2)
    assert.equal(dep.spec.template.spec.containers[0]!.ports.length, 1, 'the strategic merge kept the container ports')
    assert.equal(dep.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent', 'defaults applied')
    const table = await kubectl(server, scratch.path, ['get', 'deploy,svc', '-o', 'wide'])
    assert.match(table.stdout, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\ndeployment\.apps\/nginx-deployment\s+0\/5\s+0\s+0\s+\d+s\s+nginx\s+nginx:1\.14\.2\s+app=nginx/)
    assert.match(table.stdout, /service\/my-service\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP\s+\d+s\s+app=nginx/)
    const third = await kubectl(server, scratch.path, ['apply', '-f', file])
    assert.match(third.stdout, /deployment\.apps\/nginx-deployment unchanged/)
    const del = await kubectl(server, scratch.path, ['delete', '-f', file])
    assert.equal(del.code, 0, del.stderr)
    assert.match(del.stdout, /deployment\.apps "nginx-deployment" deleted\nservice "my-service" deleted/)
  })

  it('kubectl create deployment (a protobuf body) creates it; a second create is AlreadyExists', async () => {
    const r = await kubectl(server, scratch.path, ['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /deployment\.apps\/web created/)
    const again = await kubectl(server, scratch.path, ['create', 'deployment', 'web', '--image=nginx:1.27'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /deployments\.apps "web" already exists/)
  })

  it('kubectl create configmap (protobuf) stores its data; cluster-info answers', async () => {
    const r = await kubectl(server, scratch.path, ['create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=level=3'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /configmap\/settings created/)
    const data = await kubectl(server, scratch.path, ['get', 'cm', 'settings', '-o', 'jsonpath={.data.mode}/{.data.level}'])
    assert.equal(data.stdout, 'fast/3')
    const info = await kubectl(server, scratch.path, ['cluster-info'])
    assert.equal(info.code, 0, info.stderr)
    assert.match(info.stdout.replace(/\x1B\[[0-9;]*m/g, ''), /Kubernetes control plane is running at https:\/\/127\.0\.0\.51:6443/)
  })

  it('an invalid manifest gets a 422 naming the field, and nothing is written', async () => {
    const file = join(scratch.path, 'bad.yaml')
    writeFileSync(file, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: -1\n  selector:\n    matchLabels: {app: bad}\n  template:\n    metadata:\n      labels: {app: bad}\n    spec:\n      containers: [{name: c, image: busybox}]\n')
    const r = await kubectl(server, scratch.path, ['apply', '-f', file])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/)
    const get = await kubectl(server, scratch.path, ['get', 'deploy', 'bad'])
    assert.match(get.stderr, /deployments\.apps "bad" not found/)
  })

  it('kubectl scale changes a Deployment\'s replicas through the scale subresource', async () => {
    const r = await kubectl(server, scratch.path, ['scale', 'deployment', 'web', '--replicas=4'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /deployment\.apps\/web scaled/)
    const replicas = await kubectl(server, scratch.path, ['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])
    assert.equal(replicas.stdout, '4')
  })

  it('kubectl run creates a pod; get pods -o wide prints its columns, Pending and unscheduled', async () => {
    const r = await kubectl(server, scratch.path, ['run', 'hello', '--image=busybox:1.36', '--restart=Never'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /pod\/hello created/)
    const wide = await kubectl(server, scratch.path, ['get', 'pods', '-o', 'wide'])
    assert.equal(wide.code, 0, wide.stderr)
    assert.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\nhello\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>\n$/)
    const del = await kubectl(server, scratch.path, ['delete', 'pod', 'hello'])
    assert.match(del.stdout, /pod "hello" deleted/)
  })

  it('kubectl get -w prints objects as they are created', async () => {
    const child = spawn(process.env.KUBECTL ?? 'kubectl', [`--kubeconfig=${server}`, `--cache-dir=${join(scratch.path, 'cache')}`, 'get', 'configmaps', '-w'])
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    try {
      await waitFor('the initial list', () => out.includes('alpha'))
      assert.equal((await createObject(agent, 'gamma')).status, 200)
      await waitFor('gamma in the watch', () => /\ngamma\s/.test(out), { timeoutMs: 10_000 })
    } finally {
      child.kill('SIGKILL')
    }
  })
})
