import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../helpers/wait.ts'
import { LAB_PREFIX } from './layout.ts'

/**
 * A lab host's processes live in one cgroup subtree, `shoal-lab/hK`: the
 * engine (containerd, dockerd, the shims) in `engine`, the agent in `agent`,
 * containers below `containers` (dockerd's --cgroup-parent). Freezing the
 * subtree and SIGKILLing everything in it is a power cut: nothing gets to
 * react, restart or reap in between.
 *
 * cgroup v1 (this machine): the freezer hierarchy is the one we place, list
 * and freeze processes in; runc puts containers in every hierarchy. cgroup v2:
 * the one unified tree, frozen through cgroup.freeze.
 */
const ROOT = '/sys/fs/cgroup'
const UNIFIED = existsSync(join(ROOT, 'cgroup.controllers'))
const TRACKED = UNIFIED ? ROOT : join(ROOT, 'freezer')

export type Leaf = 'engine' | 'agent'

export class HostCgroup {
  /** Relative to a hierarchy's root, e.g. `shoal-lab/h2`. */
  readonly path: string

  constructor (path: string) {
    this.path = path
  }

  /** dockerd's --cgroup-parent (cgroupfs driver): containers go to /shoal-lab/hK/containers/ID. */
  get containersParent (): string { return `/${this.path}/containers` }

  #dir (leaf?: Leaf): string { return join(TRACKED, this.path, leaf ?? '') }

  create (): void {
    if (!UNIFIED && !existsSync(TRACKED)) throw new Error(`no cgroup v1 freezer hierarchy at ${TRACKED}: the lab needs it to find and stop a host's processes`)
    for (const leaf of ['engine', 'agent'] as const) mkdirSync(this.#dir(leaf), { recursive: true })
  }

  /** An argv prefix that moves the command into `leaf` before it execs, so all it ever forks starts there. */
  enter (leaf: Leaf): string[] {
    return ['sh', '-c', 'echo $$ > "$1" && shift && exec "$@"', 'lab-enter', join(this.#dir(leaf), 'cgroup.procs')]
  }

  /** Every process in the subtree (or in one leaf). */
  pids (leaf?: Leaf): number[] {
    return procsUnder(this.#dir(leaf))
  }

  /** Signal every process of one leaf; returns the pids signalled. */
  signal (leaf: Leaf, signal: NodeJS.Signals): number[] {
    const pids = this.pids(leaf)
    for (const pid of pids) killQuietly(pid, signal)
    return pids
  }

  async waitEmpty (leaf?: Leaf, timeoutMs = 15_000): Promise<void> {
    await waitFor(`no process left in cgroup ${this.path}${leaf !== undefined ? `/${leaf}` : ''}`, () => this.pids(leaf).length === 0 || undefined, { timeoutMs, intervalMs: 20 })
  }

  /** The power cut: freeze the subtree, SIGKILL all of it, thaw (the kills land), wait until it is empty. */
  async killAll (): Promise<number[]> {
    const dir = this.#dir()
    if (!existsSync(dir)) return []
    // A subtree that does not report FROZEN in time is killed all the same, only less at once.
    await freeze(dir).catch(() => undefined)
    const pids = this.pids()
    for (const pid of pids) killQuietly(pid, 'SIGKILL')
    thaw(dir)
    await this.waitEmpty()
    return pids
  }

  /** Remove the subtree from every hierarchy (after killAll: no process may be left in it). */
  remove (): void {
    for (const root of hierarchies()) removeTree(join(root, this.path))
  }
}

/** The host cgroups that exist now, whatever made them. */
export function labCgroups (): HostCgroup[] {
  const top = join(TRACKED, LAB_PREFIX)
  if (!existsSync(top)) return []
  return readdirSync(top, { withFileTypes: true }).filter(e => e.isDirectory()).map(e => new HostCgroup(`${LAB_PREFIX}/${e.name}`))
}

/** Remove `shoal-lab` from every hierarchy; true when there was something to remove. */
export function removeLabCgroups (): boolean {
  let found = false
  for (const root of hierarchies()) {
    const dir = join(root, LAB_PREFIX)
    if (existsSync(dir)) {
      found = true
      removeTree(dir)
    }
  }
  return found
}

function hierarchies (): string[] {
  if (UNIFIED) return [ROOT]
  return readdirSync(ROOT).map(n => join(ROOT, n)).filter(p => lstatSync(p).isDirectory())
}

function procsUnder (dir: string): number[] {
  if (!existsSync(dir)) return []
  const own = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(l => l !== '').map(Number)
  const children = readdirSync(dir, { withFileTypes: true }).filter(e => e.isDirectory())
  return [...own, ...children.flatMap(e => procsUnder(join(dir, e.name)))]
}

function removeTree (dir: string): void {
  if (!existsSync(dir)) return
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name))
  try {
    rmdirSync(dir)
  } catch (err) {
    throw new Error(`cannot remove cgroup ${dir}: ${(err as Error).message} (processes left in it: ${procsUnder(dir).join(' ') || 'none'})`)
  }
}

async function freeze (dir: string): Promise<void> {
  if (UNIFIED) {
    writeFileSync(join(dir, 'cgroup.freeze'), '1')
    await waitFor(`cgroup ${dir} frozen`, () => /^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) || undefined, { timeoutMs: 5000, intervalMs: 10 })
  } else {
    writeFileSync(join(dir, 'freezer.state'), 'FROZEN')
    await waitFor(`cgroup ${dir} frozen`, () => readFileSync(join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN' || undefined, { timeoutMs: 5000, intervalMs: 10 })
  }
}

function thaw (dir: string): void {
  if (UNIFIED) writeFileSync(join(dir, 'cgroup.freeze'), '0')
  else writeFileSync(join(dir, 'freezer.state'), 'THAWED')
}

function killQuietly (pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}
