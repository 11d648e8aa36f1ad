import { readdirSync, readFileSync } from 'node:fs'
import { must } from './exec.ts'

/**
 * What the machine shows of network namespaces, links, iptables rules,
 * mounts and engine/agent processes: taken before `up` and after `down`,
 * the lab's part of it must be the same (nothing).
 */
export interface Footprint {
  readonly netns: readonly string[]
  readonly links: readonly string[]
  readonly iptables: readonly string[]
  readonly iptablesNat: readonly string[]
  readonly mounts: readonly string[]
  readonly processes: readonly string[]
}

export async function footprint (): Promise<Footprint> {
  // iptables-save: drop its "# Generated … on DATE" comments and the packet counters of chain lines.
  const rules = (out: string): string[] => lines(out).filter(l => !l.startsWith('#')).map(l => l.replace(/ \[\d+:\d+\]$/, ''))
  return {
    netns: lines(await must('ip', ['netns', 'list'])),
    links: lines(await must('ip', ['-o', 'link', 'show'])).map(l => l.split(': ')[1] ?? l),
    iptables: rules(await must('iptables-save')),
    iptablesNat: rules(await must('iptables-save', ['-t', 'nat'])),
    mounts: lines(await must('mount')),
    // Engines and agents only: the lines of other processes come and go all the time.
    processes: commandLines().filter(l => /dockerd|containerd|shoal\.js agent/.test(l))
  }
}

/** Every process's arguments, as `ps -eo args` shows them (read from /proc: procps may not be installed). */
function commandLines (): string[] {
  return readdirSync('/proc').filter(e => /^\d+$/.test(e)).flatMap(pid => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()].filter(l => l !== '')
    } catch {
      return []
    }
  })
}

/** Lines that name something of a lab: its names, addresses, directory or cgroups. */
export function isLabLine (line: string, labDir: string): boolean {
  return line.includes('shoal-lab') || line.includes('10.99.0.') || line.includes(labDir)
}

/** Lines in one listing but not the other (as multisets). */
export function changedLines (before: readonly string[], after: readonly string[]): string[] {
  const count = new Map<string, number>()
  for (const l of before) count.set(l, (count.get(l) ?? 0) + 1)
  for (const l of after) count.set(l, (count.get(l) ?? 0) - 1)
  return [...count].filter(([, n]) => n !== 0).map(([l, n]) => `${n > 0 ? '-' : '+'} ${l}`)
}

function lines (text: string): string[] {
  return text.split('\n').filter(l => l.trim() !== '')
}
