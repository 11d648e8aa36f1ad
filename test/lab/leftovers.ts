import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../helpers/wait.ts'
import { alive, exec } from './exec.ts'
import { LAB_PREFIX, NETNS_DIR, type HostLayout } from './layout.ts'

/**
 * What a dead host leaves outside its processes, and how to remove it: the
 * mounts its dockerd made (overlay roots, container network namespaces, its
 * data root bound onto itself), the sockets of its containerd shims in
 * /run/containerd/s, stray processes.
 */

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder (dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map(line => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter(p => p === dir || p.startsWith(`${dir}/`))
  return [...new Set(points)].sort((a, b) => b.length - a.length)
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath (p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

export function isMountPoint (path: string): boolean {
  return mountsUnder(path).includes(path)
}

/** Unmount everything at or below `dir`; a mount still busy is detached lazily. Returns the mount points. */
export async function unmountUnder (dir: string): Promise<string[]> {
  const points = mountsUnder(dir)
  for (const p of points) {
    if ((await exec('umount', [p])).code !== 0) await exec('umount', ['--lazy', p])
  }
  return points
}

/**
 * containerd-shim-runc-v2 listens on /run/containerd/s/sha256(containerd's
 * address + "/moby/" + container id), whatever containerd's own state dir is;
 * a killed shim leaves its socket behind.
 */
export function removeShimSockets (h: HostLayout): string[] {
  const containers = join(h.dockerData, 'containers')
  if (!existsSync(containers)) return []
  const removed: string[] = []
  for (const id of readdirSync(containers)) {
    const socket = join('/run/containerd/s', createHash('sha256').update(join(h.containerdSock, 'moby', id)).digest('hex'))
    if (existsSync(socket)) {
      rmSync(socket, { force: true })
      removed.push(socket)
    }
  }
  return removed
}

/** The programs a lab host runs; a stray one is found by the lab dir in its arguments. */
const HOST_PROGRAMS = /^(\S*\/)?(dockerd|containerd|containerd-shim\S*|runc)( |$)|shoal\.js agent /

/**
 * Processes of a lab that are in no lab cgroup: engines, shims and agents
 * whose arguments name the lab dir (started by hand, or escaped somehow), and
 * anything inside a lab network namespace (a `run` or `shell` left behind).
 * Not, say, a `tail -f` of a lab log from outside.
 */
export function strayProcesses (labDir: string): number[] {
  const netnsInodes = new Set(existsSync(NETNS_DIR)
    ? readdirSync(NETNS_DIR).filter(n => n.startsWith(`${LAB_PREFIX}-`)).map(n => `net:[${statSync(join(NETNS_DIR, n)).ino}]`)
    : [])
  const spare = new Set([process.pid, process.ppid])
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || spare.has(pid)) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      const hostProgram = HOST_PROGRAMS.test(cmdline) && cmdline.includes(`${labDir}/`)
      if (hostProgram || netnsInodes.has(readlinkSync(`/proc/${pid}/ns/net`))) found.push(pid)
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found
}

/** SIGKILL these processes and wait until none is left. */
export async function killAndWait (pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  await waitFor(`processes ${pids.join(' ')} gone`, () => pids.every(p => !alive(p)) || undefined, { timeoutMs: 15_000, intervalMs: 20 })
}
