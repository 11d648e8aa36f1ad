import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs'
import { labCgroups, removeLabCgroups } from './cgroups.ts'
import { exec } from './exec.ts'
import { hostLayout, LAB_PREFIX, NETNS_DIR } from './layout.ts'
import { isMountPoint, killAndWait, mountsUnder, removeShimSockets, strayProcesses, unmountUnder } from './leftovers.ts'
import { removeLabNetwork } from './net.ts'
import { readState } from './state.ts'

/** True when anything of a lab exists: its dir, a namespace, a link or a cgroup named shoal-lab. */
export function leftoversExist (dir: string): boolean {
  const named = (d: string): boolean => existsSync(d) && readdirSync(d).some(n => n.startsWith(LAB_PREFIX))
  return existsSync(dir) || named(NETNS_DIR) || named('/sys/class/net') || labCgroups().length > 0
}

/**
 * Remove everything a lab made, whether it is running, half-made or left by
 * a killed run, from what exists (names, cgroups, mounts) rather than only
 * from its state file. Returns one line per thing removed. In order:
 * processes (every host cgroup frozen and SIGKILLed, then strays by command
 * line or namespace); mounts under the dir; shim sockets; namespaces, links
 * and FORWARD rules; cgroups; the dir; the shared directories the lab created.
 */
export async function cleanupLab (dir: string): Promise<string[]> {
  const done: string[] = []
  const state = existsSync(dir) ? readStateQuietly(dir) : undefined

  for (const cg of labCgroups()) {
    const pids = await cg.killAll()
    if (pids.length > 0) done.push(`killed ${pids.length} processes of cgroup ${cg.path}`)
  }
  const strays = strayProcesses(dir)
  if (strays.length > 0) {
    await killAndWait(strays)
    done.push(`killed stray processes ${strays.join(' ')}`)
  }

  for (const p of await unmountUnder(dir)) done.push(`unmounted ${p}`)
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) {
      const k = /^h(\d+)$/.exec(entry)?.[1]
      if (k !== undefined) for (const s of removeShimSockets(hostLayout(dir, Number(k)))) done.push(`removed shim socket ${s}`)
    }
  }

  done.push(...await removeLabNetwork())
  if (removeLabCgroups()) done.push(`removed cgroups ${LAB_PREFIX}`)
  if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true })
    done.push(`removed ${dir}`)
  }

  if (state?.hadRunContainerd === false) {
    for (const d of ['/run/containerd/s', '/run/containerd']) if (removeIfEmpty(d)) done.push(`removed ${d}`)
  }
  if (state?.hadNetnsMount === false && isMountPoint('/run/netns') && readdirSync('/run/netns').length === 0) {
    // `ip netns add` bound /run/netns onto itself to share it; nobody else uses it now.
    if ((await exec('umount', ['/run/netns'])).code === 0) done.push('unmounted /run/netns')
  }
  const busy = mountsUnder(dir)
  if (busy.length > 0) throw new Error(`still mounted after cleanup: ${busy.join(', ')}`)
  return done
}

function readStateQuietly (dir: string): ReturnType<typeof readState> {
  try {
    return readState(dir)
  } catch {
    return undefined
  }
}

function removeIfEmpty (d: string): boolean {
  try {
    if (readdirSync(d).length > 0) return false
    rmdirSync(d)
    return true
  } catch {
    return false
  }
}
