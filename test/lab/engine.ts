import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import type { HostCgroup } from './cgroups.ts'
import { must, spawnDetached, tail, untilReady } from './exec.ts'
import { formatCIDR, networkOf, parseCIDR } from '@shoal/core/network/cidr.ts'
import { GATEWAY, PREFIX_LEN, type HostLayout } from './layout.ts'

/**
 * A host's Docker engine: its own containerd and its own dockerd, both in the
 * host's network namespace and in its `engine` cgroup.
 *
 * The lab runs containerd itself rather than letting dockerd supervise one:
 * dockerd 20.10 uses the system containerd whenever /run/containerd/containerd.sock
 * exists (a machine where docker.io runs under systemd), and then the lab's
 * engines would share it, and its "moby" namespace, with the main engine.
 */

/** containerd's state under the host: `root` persists like /var/lib, `state` and the socket are volatile like /run. */
function containerdConfig (h: HostLayout): string {
  return [
    'version = 2',
    `root = ${JSON.stringify(join(h.dockerData, 'containerd'))}`,
    `state = ${JSON.stringify(join(h.dockerExec, 'containerd', 'state'))}`,
    // CRI is Kubernetes' (we are not), opt would install into /opt/containerd of the machine.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt"]',
    '[grpc]',
    `  address = ${JSON.stringify(h.containerdSock)}`,
    ''
  ].join('\n')
}

/**
 * The engine ID `docker info` reports comes from this key; without its own,
 * every lab engine would share the main one's. A registry on a lab host
 * (the images bench's yardstick) speaks plain HTTP: the lab's addresses may.
 */
const LAB_SUBNET = formatCIDR(networkOf(parseCIDR(`${GATEWAY}/${PREFIX_LEN}`)!))

function daemonJson (h: HostLayout): string {
  return JSON.stringify({ 'deprecated-key-path': join(h.dir, 'key.json'), 'insecure-registries': [LAB_SUBNET] }, null, 2) + '\n'
}

function dockerdArgs (h: HostLayout, cg: HostCgroup): string[] {
  return [
    'dockerd',
    '--config-file', h.daemonJson,
    '--data-root', h.dockerData,
    '--exec-root', h.dockerExec,
    '--host', `unix://${h.dockerSock}`,
    '--pidfile', h.dockerPid,
    '--containerd', h.containerdSock,
    '--exec-opt', 'native.cgroupdriver=cgroupfs',
    '--cgroup-parent', cg.containersParent,
    '--bip', h.dockerBip
  ]
}

/** Start containerd, then dockerd; resolves when the engine answers /_ping. */
export async function startEngine (h: HostLayout, cg: HostCgroup): Promise<void> {
  mkdirSync(h.dockerData, { recursive: true })
  mkdirSync(h.dockerExec, { recursive: true })
  writeFileSync(h.containerdConfig, containerdConfig(h))
  writeFileSync(h.daemonJson, daemonJson(h))
  const inHost = [...cg.enter('engine'), 'nsenter', `--net=${h.netnsPath}`]

  const containerd = spawnDetached([...inHost, 'containerd', '--config', h.containerdConfig], h.containerdLog)
  await untilReady(containerd, `containerd of host ${h.k}`, () => tail(h.containerdLog), async () => await ping(h.containerdSock, true), { timeoutMs: 20_000, intervalMs: 50 })
  const dockerd = spawnDetached([...inHost, ...dockerdArgs(h, cg)], h.dockerdLog)
  await untilReady(dockerd, `dockerd of host ${h.k}`, () => tail(h.dockerdLog), async () => await ping(h.dockerSock), { timeoutMs: 30_000, intervalMs: 50 })
}

/**
 * True when the socket accepts a connection (`connectOnly`, for containerd's
 * gRPC) or answers Docker's GET /_ping with 200.
 */
async function ping (socketPath: string, connectOnly = false): Promise<boolean> {
  return await new Promise(resolve => {
    const req = request({ socketPath, path: '/_ping', timeout: 2000 }, res => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    if (connectOnly) req.on('socket', s => s.on('connect', () => { resolve(true); req.destroy() }))
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** One `docker` command against the host's engine; its stdout. */
export async function docker (h: HostLayout, args: readonly string[]): Promise<string> {
  return await must('docker', ['--host', `unix://${h.dockerSock}`, ...args], { timeoutMs: 120_000 })
}

/** `docker save` once from the main engine, for every host's `docker load`. */
export async function saveImages (images: readonly string[], tarPath: string): Promise<void> {
  const missing = []
  for (const image of images) if ((await must('docker', ['images', '-q', image])).trim() === '') missing.push(image)
  if (missing.length > 0) {
    const build = new URL('../images/build.sh', import.meta.url).pathname
    await must('bash', [build], { timeoutMs: 300_000 })
  }
  await must('docker', ['save', '--output', tarPath, ...images], { timeoutMs: 120_000 })
}
