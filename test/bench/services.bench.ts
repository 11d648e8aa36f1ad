import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { closeConnections } from '@shoal/cli/http.ts'
import { AgentProcess, scratchDir, shoal } from '../helpers/agents.ts'
import { waitFor } from '../helpers/wait.ts'
import { fetchBody, hostnameWebDeployment, isReadyObject, startCluster } from '../helpers/cluster.ts'
import { benchFailure, percentile } from './stats.ts'

/**
 * Issue 7's measures, on three agents (127.0.0.171-173) and real Docker:
 * - Proxy throughput and latency: wrk (Debian's) against one pod's busybox
 *   httpd straight at its published port, then through the Service's load
 *   balancer port on the node that runs the pod and on another node, and
 *   its cluster IP (all balance over the three pods); the same with a
 *   keep-alive server. The bar: through the proxy at least 80% of the
 *   direct requests/s, at worst of the three. On this one machine "direct"
 *   passes through Docker's userland port proxy (published ports on a
 *   loopback address), and the agents, sharing the engine, reach every pod
 *   at its pod IP: one userland hop on each side. On separate machines,
 *   direct would be kernel DNAT and a pod on another node would be reached
 *   through its node's published port.
 * - Rotation: a pod's readiness probe (httpGet /ready, periodSeconds 1) made to fail: how
 *   long until no node sends it traffic, from the API showing it not Ready
 *   (what the proxy can react to) and from the probe's flip; then made to
 *   pass again: how long until every node sends it traffic.
 */

const IPS = ['127.0.0.171', '127.0.0.172', '127.0.0.173'] as const
const PORT = 8080
const WRK_SECONDS = 8
/** Connections wrk keeps busy: below, at and past where busybox httpd (a fork per request) saturates the 2 cores. */
const WRK_CONNECTIONS = [4, 16] as const
const TIME_WAIT_QUIET = 2000
const ROUNDS = 5
const KEEP_ALIVE_IMAGE = 'shoal-bench/node-web:1'
const KEEP_ALIVE_PORT = 8081

/** An image with this machine's Node.js binary (and the libraries it links) serving its hostname over keep-alive HTTP. */
async function buildKeepAliveImage (): Promise<void> {
  if (await run('docker', ['image', 'inspect', KEEP_ALIVE_IMAGE]).then(() => true, () => false)) return
  const node = process.execPath
  const script = `set -euo pipefail
root=$(mktemp -d)
mkdir -p "$root/bin" "$root/srv" "$root/tmp"
cp ${JSON.stringify(node)} "$root/bin/node"
for lib in $(ldd ${JSON.stringify(node)} | grep -o '/[^ ]*'); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done
echo 'const n = require("os").hostname() + "\\n"; require("http").createServer((q, s) => { s.end(n) }).listen(8080)' >"$root/srv/server.js"
tar -C "$root" -c . | docker import - ${KEEP_ALIVE_IMAGE} >/dev/null
rm -rf "$root"`
  await run('bash', ['-c', script])
}
const run = promisify(execFile)
type Json = any
const ms = (x: number): string => x < 10 ? x.toFixed(1) : x.toFixed(0)
const epochNow = (): number => performance.timeOrigin + performance.now()

interface WrkFigures { rps: number, p50: number, p99: number, errors: number }

/** TCP connections in TIME_WAIT on this machine (`ss`). */
async function timeWaits (): Promise<number> {
  const { stdout } = await run('ss', ['-Htan', 'state', 'time-wait'], { maxBuffer: 64 * 1024 * 1024 })
  return stdout.split('\n').filter(l => l !== '').length
}

/**
 * Before each wrk run, let the TIME_WAIT sockets of the last one expire
 * (Linux keeps them 60 s). With every agent, pod and client on one machine's
 * loopback, a run leaves tens of thousands, and a run started on top of
 * them is slowed by them (seen here: whichever run came second collapsed,
 * whatever its concurrency), which would measure the order of the runs.
 */
async function drainTimeWaits (): Promise<void> {
  await waitFor('TIME_WAIT sockets drained', async () => await timeWaits() < TIME_WAIT_QUIET, { timeoutMs: 70_000, intervalMs: 1000 }).catch(() => {})
}

const TW_REUSE = '/proc/sys/net/ipv4/tcp_tw_reuse'

/**
 * Run `fn` with the kernel letting a client reuse a port whose last
 * connection is in TIME_WAIT (tcp_tw_reuse=1), then put the setting back.
 * The default (2) allows that only towards 127.0.0.0/8: wrk's new
 * connections to a cluster IP (10.96.x.x, on lo too) would exhaust the
 * client's ports after ~28,000 connections and measure the client's port
 * search (half the requests/s with the very same proxy, measured), while
 * the direct, node port and load balancer runs (127.0.0.x) reuse freely.
 * A cluster IP's clients in a real cluster are pods, each its own address.
 */
async function withTimeWaitReuse<T> (fn: () => Promise<T>): Promise<T> {
  let before: string | undefined
  try {
    before = readFileSync(TW_REUSE, 'utf8').trim()
    writeFileSync(TW_REUSE, '1')
  } catch {
    before = undefined // not root, or no such setting: measured as the kernel is
  }
  try {
    return await fn()
  } finally {
    if (before !== undefined) writeFileSync(TW_REUSE, before)
  }
}

/** wrk's summary: requests/s and the latency distribution (ms); socket errors and non-2xx counted as errors. */
async function wrk (url: string, connections: number): Promise<WrkFigures> {
  await drainTimeWaits()
  const { stdout } = await withTimeWaitReuse(async () => await run('wrk', ['-t', '2', '-c', String(connections), '-d', `${WRK_SECONDS}s`, '--latency', url], { timeout: (WRK_SECONDS + 30) * 1000 }))
  const unit = (v: string, u: string): number => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1)
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout)
    return m === null ? NaN : unit(m[1]!, m[2]!)
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  const errors = (socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)) + non2xx
  return { rps, p50: pct('50'), p99: pct('99'), errors }
}

/** Requests round the three nodes, back to back, recording when each pod answered through which node. */
function sampler (): { stop: () => Promise<void>, seen: Array<{ at: number, node: string, pod: string }> } {
  const seen: Array<{ at: number, node: string, pod: string }> = []
  let going = true
  const loops = IPS.map(async ip => {
    while (going) {
      const pod = await fetchBody(ip, PORT)
      if (pod !== undefined) seen.push({ at: epochNow(), node: ip, pod })
    }
  })
  return { seen, stop: async () => { going = false; await Promise.all(loops) } }
}

/** The pods labelled app=`app`, once there are three, all Ready, one on each node. */
async function threeReadyPods (a: AgentProcess, app: string): Promise<Json[]> {
  return await waitFor(`three Ready ${app} pods, one per node`, async () => {
    const items = (await a.getJson(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).items as Json[]
    return items.length === 3 && items.every(isReadyObject) && new Set(items.map(p => p.spec.nodeName)).size === 3 ? items : false
  }, { timeoutMs: 60_000, intervalMs: 200 })
}

const show = (what: string, f: WrkFigures): string => `${what} ${f.rps.toFixed(0)} req/s, p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms${f.errors > 0 ? `, ${f.errors} errors` : ''}`

/**
 * wrk with `connections` straight at a pod's published port, then through
 * the Service's `port` on the pod's node and on another node, and its
 * cluster IP: the figures (`what`), then the worst of the three against
 * direct and the bar (`short`).
 */
async function throughput (what: string, short: string, direct: { hostIP: string, hostPort: number }, port: number, clusterIP: string, connections: number): Promise<string[]> {
  const straight = await wrk(`http://${direct.hostIP}:${direct.hostPort}/`, connections)
  const sameNode = await wrk(`http://${IPS[0]}:${port}/`, connections)
  const otherNode = await wrk(`http://${IPS[1]}:${port}/`, connections)
  const viaClusterIP = await wrk(`http://${clusterIP}:${port}/`, connections)
  const worst = Math.min(sameNode.rps, otherNode.rps, viaClusterIP.rps)
  return [
    `${what}: ${show('straight to one pod\'s host port', straight)}; through the Service (3 pods): ${show('LoadBalancer port of the pod\'s node', sameNode)}; ${show('of another node', otherNode)}; ${show('cluster IP', viaClusterIP)}`,
    `${short}: through the proxy ${(worst / straight.rps * 100).toFixed(0)}% of the direct requests/s at worst (bar ≥ 80%: ${worst / straight.rps >= 0.8 ? 'MET' : 'MISSED'}); p99 ${ms(Math.max(sameNode.p99, otherNode.p99, viaClusterIP.p99))} ms against ${ms(straight.p99)} ms`
  ]
}

export async function servicesBench (): Promise<string[]> {
  const lines: string[] = []
  const scratch = scratchDir('bench-services')
  const agents = IPS.map((ip, i) => new AgentProcess(scratch.path, `svc-bench-${i + 1}`, ip))
  const [a1] = agents as [AgentProcess]
  const env = { SHOAL_LOG_LEVEL: 'info' }
  try {
    await run('wrk', ['--version']).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new Error('the services bench needs wrk: apt-get install -y wrk')
    })
    await run('bash', [new URL('../images/build.sh', import.meta.url).pathname])
    await startCluster(agents, { env })
    // Ready while httpd serves /ready: probed by the kubelet itself (an exec probe would cost the engine a docker exec a second per pod during the throughput runs).
    const manifest = hostnameWebDeployment(3, { httpGet: { path: '/ready', port: PORT }, periodSeconds: 1, failureThreshold: 1 }, 'touch /www/ready && ')
    const file = join(scratch.path, 'web.json')
    writeFileSync(file, JSON.stringify(manifest))
    const kc = ['--kubeconfig', a1.kubeconfig]
    await shoal(['apply', '-f', file, ...kc])
    const pods = async (): Promise<Json[]> => (await a1.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).items
    const three = await threeReadyPods(a1, 'web')
    await shoal(['expose', 'deployment', 'web', '--type=LoadBalancer', `--port=${PORT}`, ...kc])
    for (const ip of IPS) {
      await waitFor(`three pods through ${ip}`, async () => {
        const bodies = new Set<string>()
        for (let i = 0; i < 6; i++) bodies.add(await fetchBody(ip, PORT) ?? 'failed')
        return bodies.size === 3 && !bodies.has('failed')
      }, { timeoutMs: 20_000, intervalMs: 100 })
    }

    // ---- throughput and latency
    const local = three.find(p => p.spec.nodeName === agents[0]!.name)
    const hp = local.status.hostPorts[0]
    const svc = await a1.getJson('/api/v1/namespaces/default/services/web')
    for (const c of WRK_CONNECTIONS) {
      lines.push(...await throughput(`wrk -c ${c} for ${WRK_SECONDS} s, busybox httpd (a new connection per request)`, `wrk -c ${c}`, hp, PORT, svc.spec.clusterIP, c))
    }

    // ---- rotation: out when unready, back when ready
    const outFromApi: number[] = []
    const outFromFlip: number[] = []
    const backFromApi: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const victim = three[round % 3]
      const name: string = victim.metadata.name
      const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=io.shoal.pod.name=${name}`, '--filter', 'label=io.shoal.role=app'])
      const id = stdout.trim()
      const s = sampler()
      await waitFor('traffic to the victim on every node', async () => IPS.every(ip => s.seen.some(x => x.node === ip && x.pod === name)), { timeoutMs: 10_000, intervalMs: 10 })
      const flipped = epochNow()
      await run('docker', ['exec', id, 'rm', '/www/ready'])
      let apiNotReady = 0
      await waitFor('the API shows it not Ready', async () => {
        const p = (await pods()).find(x => x.metadata.name === name)
        if (p !== undefined && !isReadyObject(p)) { apiNotReady = epochNow(); return true }
        return false
      }, { timeoutMs: 10_000, intervalMs: 10 })
      // Out of rotation on a node: the last answer from the victim through it, once 1 s has passed without one.
      await waitFor('no node sending it traffic for 1 s', async () => {
        const last = Math.max(...s.seen.filter(x => x.pod === name).map(x => x.at))
        return epochNow() - last > 1000
      }, { timeoutMs: 15_000, intervalMs: 20 })
      const lastSeen = Math.max(...IPS.map(ip => Math.max(...s.seen.filter(x => x.node === ip && x.pod === name).map(x => x.at))))
      outFromApi.push(Math.max(0, lastSeen - apiNotReady))
      outFromFlip.push(lastSeen - flipped)
      await run('docker', ['exec', id, 'touch', '/www/ready'])
      let apiReady = 0
      await waitFor('the API shows it Ready', async () => {
        const p = (await pods()).find(x => x.metadata.name === name)
        if (p !== undefined && isReadyObject(p)) { apiReady = epochNow(); return true }
        return false
      }, { timeoutMs: 10_000, intervalMs: 10 })
      await waitFor('every node sending it traffic again', async () => IPS.every(ip => s.seen.some(x => x.node === ip && x.pod === name && x.at > apiReady)), { timeoutMs: 10_000, intervalMs: 10 })
      backFromApi.push(Math.max(...IPS.map(ip => s.seen.find(x => x.node === ip && x.pod === name && x.at > apiReady)!.at)) - apiReady)
      await s.stop()
    }
    const d = (xs: number[]): string => `p50 ${ms(percentile(xs, 50))} ms, max ${ms(Math.max(...xs))} ms (n=${xs.length})`
    lines.push(`a pod turned unready, out of every node's rotation: ${d(outFromApi)} after the API showed it not Ready; ${d(outFromFlip)} after its readiness check started failing (probe period 1 s)`)
    lines.push(`ready again, in every node's rotation: ${d(backFromApi)} after the API showed it Ready (bar for both: 1 s: ${Math.max(...outFromApi, ...backFromApi) < 1000 ? 'MET' : 'MISSED'})`)

    // ---- the same through keep-alive connections: a Node.js HTTP server (busybox httpd closes every connection)
    await buildKeepAliveImage()
    const kweb = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kweb' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'kweb' } },
        template: {
          metadata: { labels: { app: 'kweb' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'kweb', image: KEEP_ALIVE_IMAGE, command: ['/bin/node', '/srv/server.js'], ports: [{ containerPort: PORT }], readinessProbe: { httpGet: { path: '/', port: PORT }, periodSeconds: 1 } }]
          }
        }
      }
    }
    const kfile = join(scratch.path, 'kweb.json')
    writeFileSync(kfile, JSON.stringify(kweb))
    await shoal(['apply', '-f', kfile, ...kc])
    const kpods = await threeReadyPods(a1, 'kweb')
    await shoal(['expose', 'deployment', 'kweb', '--type=LoadBalancer', `--port=${KEEP_ALIVE_PORT}`, `--target-port=${PORT}`, ...kc])
    for (const ip of IPS) await waitFor(`kweb through ${ip}`, async () => await fetchBody(ip, KEEP_ALIVE_PORT) !== undefined, { timeoutMs: 20_000, intervalMs: 100 })
    const khp = kpods.find(p => p.spec.nodeName === agents[0]!.name).status.hostPorts[0]
    const ksvc = await a1.getJson('/api/v1/namespaces/default/services/kweb')
    lines.push(...await throughput('keep-alive, wrk -c 16, a Node.js HTTP server', 'keep-alive', khp, KEEP_ALIVE_PORT, ksvc.spec.clusterIP, 16))
    return lines
  } catch (err) {
    throw benchFailure('services', lines, err)
  } finally {
    closeConnections()
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  }
}
