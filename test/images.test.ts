import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { shoal } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { Lab } from './lab/lab.ts'
import { LabView } from './lab/view.ts'

type Json = any

const ROOT = process.getuid?.() === 0
const SKIP = ROOT ? false : 'the lab needs root (network namespaces, cgroups, an engine per host)'

/**
 * Images without a registry (agent/images), on a lab of four hosts with an
 * engine each and no registry anywhere: the app's image is made on host 1's
 * engine only, and the course's commands run it on hosts 1 to 3 (host 4 is
 * cordoned); the others get it from the cluster, and the events say from
 * where. Then host 1 dies, and host 4 gets it from host 2 or 3.
 */
describe('images move between the nodes, without a registry', { skip: SKIP }, () => {
  let lab: Lab
  let v: LabView
  /** What the app answers: unique to this run, so no other image can pass for it. */
  const page = `first-app ${randomBytes(6).toString('hex')}`
  let imageId = ''

  before(async () => {
    lab = await Lab.up(4)
    v = new LabView(lab)
    // Host 4 stays out of the deployment (and without the image) until the last test.
    await v.kubectl(1, ['cordon', lab.host(4).name])
    // The course's `docker build`: a new layer on the web image, on host 1's engine alone.
    await lab.docker(1, ['run', '--name', 'build-first-app', 'shoal-test/web:1', 'sh', '-c', `echo '${page}' > /www/index.html`])
    await lab.docker(1, ['commit', '--change', 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]', 'build-first-app', 'kub-first-app:latest'])
    await lab.docker(1, ['rm', 'build-first-app'])
    imageId = (await lab.docker(1, ['image', 'inspect', '--format', '{{.Id}}', 'kub-first-app'])).trim()
    for (const k of [2, 3, 4]) assert.equal((await lab.run(k, ['docker', 'image', 'inspect', 'kub-first-app'])).code, 1, `host ${k} has no kub-first-app`)
  })

  after(async () => {
    await lab?.down()
  })

  it('host 1, the only node holding the image, makes its archive ready before any node asks for it', async () => {
    const file = join(lab.host(1).layout.agentData, 'image-archives', `${imageId.slice('sha256:'.length)}.tar`)
    await waitFor('host 1 keeping the archive of kub-first-app', () => existsSync(file), { timeoutMs: 30_000, intervalMs: 100 })
    for (const k of [2, 3, 4]) assert.equal(existsSync(join(lab.host(k).layout.agentData, 'image-archives', `${imageId.slice('sha256:'.length)}.tar`)), false, `host ${k} holds no copy to make ready`)
  })

  it('the course, verbatim: create deployment (untagged image), scale to 3, expose; every pod runs and every host answers, and the events say whose copy each node ran', async (t) => {
    if ((await lab.run(1, ['kubectl', 'version', '--client'])).code !== 0) { t.skip('no kubectl on this machine'); return }
    assert.match(await v.kubectl(1, ['create', 'deployment', 'first-app', '--image=kub-first-app']), /deployment\.apps\/first-app created/)
    assert.match(await v.kubectl(1, ['scale', 'deployment', 'first-app', '--replicas=3']), /scaled/)
    const pods = await v.readyPods('first-app', 3, { timeoutMs: 90_000 })
    assert.equal(new Set(pods.map(p => p.spec.nodeName)).size, 3, 'one pod per host')
    assert.match(await v.kubectl(1, ['expose', 'deployment', 'first-app', '--type=LoadBalancer', '--port=8080']), /service\/first-app exposed/)
    for (const h of lab.hosts) {
      await waitFor(`first-app through host ${h.k}'s address`, async () => (await v.fromHost(1, `http://${h.ip}:8080/`))?.trim() === page, { timeoutMs: 20_000, intervalMs: 200 })
    }
    // Every engine now holds the very image host 1 made.
    for (const k of [2, 3]) assert.equal((await lab.docker(k, ['image', 'inspect', '--format', '{{.Id}}', 'kub-first-app'])).trim(), imageId)
    // `:latest` means policy Always: the registry is asked first, fails, and the cluster's copy runs, said in a Warning.
    const events = (await v.api().getJson('/api/v1/namespaces/default/events', 5000)).items as Json[]
    for (const p of pods) {
      const mine = events.filter(e => e.involvedObject?.name === p.metadata.name).map(e => `${String(e.reason)}: ${String(e.message)}`)
      if (p.spec.nodeName === lab.host(1).name) {
        assert.ok(mine.some(m => /^PulledFromCluster: .*this node's own copy/.test(m)), `host 1 runs its own copy:\n${mine.join('\n')}`)
      } else {
        assert.ok(mine.some(m => /^PulledFromCluster: Could not pull image "kub-first-app" from its registry .*; using node h\d's copy/.test(m)), `a Warning names the copy:\n${mine.join('\n')}`)
        assert.ok(mine.some(m => new RegExp(`^Pulled: Successfully pulled image "kub-first-app" \\(${imageId.slice(0, 19)}…, [\\d.]+ MB\\) from node h\\d in [\\d.]+s$`).test(m)), `a Pulled event says from where:\n${mine.join('\n')}`)
      }
    }
  })

  it('`shoal image ls` shows the image, its ID and the three nodes holding it', async () => {
    const kubeconfig = lab.host(1).layout.kubeconfig
    const out = await waitFor('kub-first-app on three nodes in `shoal image ls`', async () => {
      const r = await shoal(['image', 'ls', '--kubeconfig', kubeconfig], { timeoutMs: 30_000 })
      assert.equal(r.code, 0, r.stderr)
      const line = r.stdout.split('\n').find(l => l.startsWith('kub-first-app:latest '))
      return line !== undefined && line.includes('h1,h2,h3') ? r.stdout : false
    }, { timeoutMs: 20_000, intervalMs: 500 })
    assert.match(out, /^NAME +ID +SIZE +NODES\n/)
    assert.match(out, new RegExp(`^kub-first-app:latest +${imageId.slice(7, 19)} +[\\d.]+[kM]?B +h1,h2,h3$`, 'm'))
  })

  it('an image deleted behind the agent\'s back is fetched again when a pod needs it (IfNotPresent: from a node, before any registry)', async () => {
    const pods = await v.readyPods('first-app', 3)
    const onHost2 = pods.find(p => p.spec.nodeName === lab.host(2).name)!
    // Host 2 cordoned, its pod deleted: the replacement goes elsewhere, and no container holds the image there any more.
    await v.kubectl(1, ['cordon', lab.host(2).name])
    await v.kubectl(1, ['delete', 'pod', onHost2.metadata.name, '--wait=false'])
    // httpd ignores SIGTERM, and kubectl create's pods have Kubernetes' 30 s grace.
    await waitFor('no first-app container left on host 2', async () => (await lab.docker(2, ['ps', '-a', '-q', '--filter', `label=io.shoal.pod.name=${String(onHost2.metadata.name)}`])).trim() === '', { timeoutMs: 50_000, intervalMs: 200 })
    await lab.docker(2, ['rmi', 'kub-first-app'])
    assert.equal((await lab.run(2, ['docker', 'image', 'inspect', imageId])).code, 1, 'the image is gone from host 2')
    await v.kubectl(1, ['uncordon', lab.host(2).name])
    const pinned = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pinned', labels: { app: 'pinned' } }, spec: { nodeName: lab.host(2).name, terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'kub-first-app', imagePullPolicy: 'IfNotPresent' }] } }
    const res = await v.api().request('POST', '/api/v1/namespaces/default/pods', { json: pinned })
    assert.equal(res.status, 201, res.text)
    const [p] = await v.readyPods('pinned', 1, { timeoutMs: 60_000 })
    assert.equal((await lab.docker(2, ['image', 'inspect', '--format', '{{.Id}}', 'kub-first-app'])).trim(), imageId, 'host 2 holds the image again')
    assert.equal((await v.fromHost(1, `http://${String(p.status.podIP)}:8080/`))?.trim(), page)
    const events = ((await v.api().getJson('/api/v1/namespaces/default/events', 5000)).items as Json[])
      .filter(e => e.involvedObject?.name === 'pinned').map(e => `${String(e.reason)}: ${String(e.message)}`)
    assert.ok(events.some(m => /^Pulled: Successfully pulled image "kub-first-app" .* from node h[13] in /.test(m)), events.join('\n'))
    assert.ok(!events.some(m => /^Pulling: Pulling image "kub-first-app"$/.test(m)), `no registry was asked:\n${events.join('\n')}`)
    assert.ok(events.some(m => /^Pulling: Pulling image "kub-first-app" from node h[13] \([\d.]+ MB\)$/.test(m)), `the transfer said where from:\n${events.join('\n')}`)
  })
  it('host 1, where the image was made, powered off after the fan-out: a pod on host 4 gets it from host 2 or 3', async () => {
    await lab.kill(1)
    const pinned = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-four', labels: { app: 'on-four' } }, spec: { nodeName: lab.host(4).name, terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'kub-first-app', imagePullPolicy: 'IfNotPresent' }] } }
    const res = await waitFor('a pod created through host 2', async () => {
      const r = await v.api(2).request('POST', '/api/v1/namespaces/default/pods', { json: pinned })
      // Host 1 may have led Raft: a moment without a leader. A create whose answer was lost is there already.
      return r.status === 201 || r.status === 409 ? r : false
    }, { timeoutMs: 20_000, intervalMs: 200 })
    assert.ok(res.status === 201 || res.status === 409, res.text)
    await v.readyPods('on-four', 1, { via: 2, timeoutMs: 60_000 })
    assert.equal((await lab.docker(4, ['image', 'inspect', '--format', '{{.Id}}', 'kub-first-app'])).trim(), imageId)
    const events = ((await v.api(2).getJson('/api/v1/namespaces/default/events', 5000)).items as Json[])
      .filter(e => e.involvedObject?.name === 'on-four').map(e => `${String(e.reason)}: ${String(e.message)}`)
    assert.ok(events.some(m => /^Pulled: Successfully pulled image "kub-first-app" .* from node h[23] in /.test(m)), events.join('\n'))
  })
})

const sh = async (script: string): Promise<string> => (await promisify(execFile)('sh', ['-c', script], { timeout: 120_000 })).stdout

/** Make `name` on host k's engine (or the machine's own, k 0): the web image serving `page`, plus `blobBytes` of random data. */
async function build (lab: Lab, k: number, name: string, page: string, blobBytes = 0): Promise<string> {
  const docker = k === 0 ? 'docker' : `docker --host unix://${lab.host(k).layout.dockerSock}`
  const ctr = `build-${randomBytes(4).toString('hex')}`
  const blob = blobBytes > 0 ? ` && head -c ${blobBytes} /dev/urandom > /blob` : ''
  await sh(`${docker} run --name ${ctr} shoal-test/web:1 sh -c "echo '${page}' > /www/index.html${blob}" && ${docker} commit --change 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]' ${ctr} ${name} >/dev/null && ${docker} rm ${ctr} >/dev/null`)
  return (await sh(`${docker} image inspect --format '{{.Id}}' ${name}`)).trim()
}

/** `docker save | docker load` of `name` from host a's engine to host b's. */
async function copy (lab: Lab, name: string, a: number, b: number): Promise<void> {
  await sh(`docker --host unix://${lab.host(a).layout.dockerSock} save ${name} | docker --host unix://${lab.host(b).layout.dockerSock} load --quiet`)
}

const podOn = (name: string, node: string, image: string): Json => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } }, spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image, imagePullPolicy: 'IfNotPresent' }] } })

/**
 * `shoal image push` and `rm`, and a transfer whose sender dies half-way, on
 * a lab of four hosts:
 * - `app:v` exists in two builds: A on hosts 1 and 3, B on host 2; host 4 has neither;
 * - `big:1` (random data, so the transfer takes a while) is on hosts 1 and 2;
 * - `pushed-app:1` is on this machine's own engine only, outside the cluster.
 */
describe('shoal image push and rm, and a sender lost mid-transfer', { skip: SKIP }, () => {
  let lab: Lab
  let v: LabView
  const tag = randomBytes(6).toString('hex')
  const pages = { a: `build A ${tag}`, b: `build B ${tag}`, pushed: `pushed ${tag}` }
  const ids = { a: '', b: '', pushed: '', big: '' }
  const events = async (pod: string, via = 1): Promise<string[]> => ((await v.api(via).getJson('/api/v1/namespaces/default/events', 5000)).items as Json[])
    .filter(e => e.involvedObject?.name === pod).map(e => `${String(e.reason)}: ${String(e.message)}`)
  const imageOn = async (k: number, name: string): Promise<string | undefined> => {
    const r = await lab.run(k, ['docker', 'image', 'inspect', '--format', '{{.Id}}', name])
    return r.code === 0 ? r.stdout.trim() : undefined
  }

  before(async () => {
    lab = await Lab.up(4)
    v = new LabView(lab)
    ids.a = await build(lab, 1, 'app:v', pages.a)
    await copy(lab, 'app:v', 1, 3)
    ids.b = await build(lab, 2, 'app:v', pages.b)
    ids.big = await build(lab, 1, 'big:1', 'big', 40_000_000)
    await copy(lab, 'big:1', 1, 2)
    ids.pushed = await build(lab, 0, `shoal-test/pushed-app:${tag}`, pages.pushed)
  })

  after(async () => {
    await sh(`docker rmi shoal-test/pushed-app:${tag} >/dev/null 2>&1 || true`).catch(() => {})
    await lab?.down()
  })

  it('push uploads an image from an engine outside the cluster to the node it talks to; a pod on another host runs it, from that node', async () => {
    const r = await shoal(['image', 'push', `shoal-test/pushed-app:${tag}`, '--kubeconfig', lab.host(1).layout.kubeconfig, '--docker-socket', '/var/run/docker.sock'], { timeoutMs: 120_000 })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^shoal-test/pushed-app:${tag}: pushed ${ids.pushed.slice(7, 19)} \\([\\d.]+ MB uploaded; held by h1\\)\\n$`))
    assert.equal(await imageOn(1, `shoal-test/pushed-app:${tag}`), ids.pushed)
    const res = await v.api().request('POST', '/api/v1/namespaces/default/pods', { json: podOn('pushed', lab.host(3).name, `shoal-test/pushed-app:${tag}`) })
    assert.equal(res.status, 201, res.text)
    const [p] = await v.readyPods('pushed', 1, { timeoutMs: 60_000 })
    assert.equal((await v.fromHost(1, `http://${String(p.status.podIP)}:8080/`))?.trim(), pages.pushed)
    assert.ok((await events('pushed')).some(m => /^Pulled: Successfully pulled image .* from node h1 in /.test(m)))
  })

  it('push of an image its node holds writes only the record, and pins the name: a new node runs the pushed build, though more nodes hold the other', async () => {
    const r = await shoal(['image', 'push', 'app:v', '--kubeconfig', lab.host(2).layout.kubeconfig, '--docker-socket', lab.host(2).layout.dockerSock], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `app:v: pushed ${ids.b.slice(7, 19)} (held by h2)\n`)
    const res = await v.api().request('POST', '/api/v1/namespaces/default/pods', { json: podOn('pinned', lab.host(4).name, 'app:v') })
    assert.equal(res.status, 201, res.text)
    const [p] = await v.readyPods('pinned', 1, { timeoutMs: 60_000 })
    assert.equal((await v.fromHost(1, `http://${String(p.status.podIP)}:8080/`))?.trim(), pages.b)
    assert.equal(await imageOn(4, 'app:v'), ids.b)
    assert.ok((await events('pinned')).some(m => /^Pulled: Successfully pulled image "app:v" .* from node h2 in /.test(m)))
  })

  it('rm stops the cluster serving the name: nodes drop it where no container uses it, the node whose pod uses it keeps it, and `image ls` no longer lists it', async () => {
    const r = await shoal(['image', 'rm', 'app:v', '--kubeconfig', lab.host(1).layout.kubeconfig])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `app:v: removed ${[ids.a, ids.b].sort().map(id => id.slice(7, 19)).join(', ')} (no longer served; nodes drop it where no container uses it)\n`)
    await waitFor('app:v gone from hosts 1 to 3', async () => (await Promise.all([1, 2, 3].map(async k => await imageOn(k, 'app:v')))).every(id => id === undefined), { timeoutMs: 20_000, intervalMs: 250 })
    assert.equal(await imageOn(4, 'app:v'), ids.b, 'kept where a pod uses it')
    const [p] = await v.readyPods('pinned', 1)
    assert.equal((await v.fromHost(1, `http://${String(p.status.podIP)}:8080/`))?.trim(), pages.b)
    const ls = await shoal(['image', 'ls', '--kubeconfig', lab.host(1).layout.kubeconfig])
    assert.equal(ls.code, 0, ls.stderr)
    assert.doesNotMatch(ls.stdout, /^app:v /m)
    assert.match(ls.stdout, /^big:1 /m)
    const bad = await shoal(['image', 'rm', 'app:v', '--kubeconfig', lab.host(1).layout.kubeconfig])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /NotFound.*no node holds an image named app:v/)
  })

  it('a transfer that outlasts libp2p\'s ping interval (10 s) on a slow link goes through in one go', async () => {
    // 40 MB at 20 Mbit/s: some 16 s. The mesh's pings and heartbeats go on meanwhile, on connections of their own.
    await lab.netem(1, ['rate=20mbit'])
    await lab.netem(2, ['rate=20mbit'])
    try {
      const res = await v.api(3).request('POST', '/api/v1/namespaces/default/pods', { json: podOn('slow', lab.host(4).name, 'big:1') })
      assert.equal(res.status, 201, res.text)
      await v.readyPods('slow', 1, { via: 3, timeoutMs: 90_000 })
    } finally {
      await lab.netem(1, ['off'])
      await lab.netem(2, ['off'])
    }
    const said = await events('slow', 3)
    assert.equal(said.filter(m => /^Pulling: Pulling image "big:1" from node h\d+ \(/.test(m)).length, 1, `one transfer, never cut off and begun again:\n${said.join('\n')}`)
    const took = Number(/^Pulled: Successfully pulled image "big:1" .* from node h[12] in ([\d.]+)s$/.exec(said.find(m => m.startsWith('Pulled: ')) ?? '')?.[1])
    assert.ok(took > 10, `it outlasted the ping interval: ${took} s\n${said.join('\n')}`)
    // Host 4 gives the image up again: the next test wants hosts 1 and 2 as its only holders.
    await v.api(3).request('DELETE', '/api/v1/namespaces/default/pods/slow')
    await waitFor('the slow pod\'s containers gone from host 4', async () => (await lab.docker(4, ['ps', '-aq', '--filter', 'label=io.shoal.pod.name=slow'])).trim() === '', { timeoutMs: 30_000, intervalMs: 200 })
    await lab.docker(4, ['rmi', 'big:1'])
    await waitFor('host 4\'s Node without big:1', async () => !JSON.stringify((await lab.nodes(3)).find(n => n.metadata.name === lab.host(4).name)?.status?.images ?? []).includes(ids.big), { timeoutMs: 30_000, intervalMs: 200 })
  })

  it('the sender powered off mid-transfer: the pull goes on from the other holder, and no partial image or file is left', async () => {
    // Slow senders, so the transfer is under way when one dies.
    await lab.netem(1, ['rate=60mbit'])
    await lab.netem(2, ['rate=60mbit'])
    const res = await v.api(3).request('POST', '/api/v1/namespaces/default/pods', { json: podOn('big', lab.host(3).name, 'big:1') })
    assert.equal(res.status, 201, res.text)
    const first = await waitFor('the transfer to begin', async () => {
      const m = (await events('big', 3)).map(e => /^Pulling: Pulling image "big:1" from node (h[12]) /.exec(e)?.[1]).find(x => x !== undefined)
      return m ?? false
    }, { timeoutMs: 60_000, intervalMs: 100 })
    const dir = join(lab.host(3).layout.agentData, 'image-transfers')
    assert.ok(readdirSync(dir).length > 0, 'a partial archive is on disk')
    const dead = Number(first.slice(1))
    const other = dead === 1 ? 2 : 1
    await lab.kill(dead)
    await v.readyPods('big', 1, { via: 3, timeoutMs: 90_000 })
    const said = await events('big', 3)
    assert.ok(said.some(m => m.startsWith(`Pulling: Pulling image "big:1" from node h${other} `)), said.join('\n'))
    assert.ok(said.some(m => new RegExp(`^Pulled: Successfully pulled image "big:1" \\(${ids.big.slice(0, 19)}…, [\\d.]+ MB\\) from node h${other} in `).test(m)), said.join('\n'))
    assert.equal(await imageOn(3, 'big:1'), ids.big)
    assert.deepEqual(readdirSync(dir), [], 'no transfer file left')
    assert.equal((await lab.docker(3, ['images', '-q', '--filter', 'dangling=true'])).trim(), '', 'no partial image in the engine')
  })
})
