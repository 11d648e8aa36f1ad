import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentProcess, scratchDir } from '../helpers/agents.ts'
import { percentile } from './stats.ts'

/**
 * The CLI's start-up (issue 17): `shoal get nodes`, `shoal get pods -o yaml`
 * and `shoal apply -f` (a manifest already applied: one GET, no change)
 * against one agent on loopback, each run side by side with the stock
 * kubectl doing the same against the same agent, in turns, RUNS times.
 * Wall time (median and p90) and peak memory (the largest RSS, from GNU
 * time) per command. The goals: at most 1.5× kubectl's time, and at most
 * 80 MiB.
 */

const IP = '127.0.0.149'
const RUNS = 20
const GOAL_RATIO = 1.5
const GOAL_RSS_MIB = 80
const SHOAL_BIN = new URL('../../packages/cli/bin/shoal.js', import.meta.url).pathname
const TIME = '/usr/bin/time'

interface Sample { readonly ms: number, readonly rssKiB: number }

/** One run of `argv` under GNU time: its wall time and peak RSS; throws if it fails. */
async function measure (argv: readonly string[]): Promise<Sample> {
  return await new Promise((resolve, reject) => {
    const t0 = performance.now()
    execFile(TIME, ['-f', '%M', ...argv], { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const ms = performance.now() - t0
      if (err !== null) { reject(new Error(`${argv.join(' ')}: ${stderr.trim()}`)); return }
      const rssKiB = Number(/(\d+)\s*$/.exec(stderr)?.[1])
      resolve({ ms, rssKiB })
    })
  })
}


export async function cliBench (): Promise<string[]> {
  if (!existsSync(TIME)) throw new Error(`the cli bench needs GNU time at ${TIME}: apt-get install time`)
  const scratch = scratchDir('cli-bench')
  const agent = new AgentProcess(scratch.path, 'cli-bench', IP)
  try {
    await agent.start([], { SHOAL_LOG_LEVEL: 'info', SHOAL_CONTROLLERS: 'nodes' })
    const manifest = join(scratch.path, 'cm.json')
    writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench', namespace: 'default' }, data: { a: '1' } }))
    const kube = ['--kubeconfig', agent.kubeconfig]
    const node = process.execPath
    const commands: Array<{ what: string, shoal: string[], kubectl: string[] }> = [
      { what: 'get nodes', shoal: [node, SHOAL_BIN, 'get', 'nodes', ...kube], kubectl: ['kubectl', 'get', 'nodes', ...kube] },
      { what: 'get pods -o yaml', shoal: [node, SHOAL_BIN, 'get', 'pods', '-A', '-o', 'yaml', ...kube], kubectl: ['kubectl', 'get', 'pods', '-A', '-o', 'yaml', ...kube] },
      { what: 'apply -f (unchanged)', shoal: [node, SHOAL_BIN, 'apply', '-f', manifest, ...kube], kubectl: ['kubectl', 'apply', '-f', manifest, ...kube] }
    ]
    // Once each first: the manifest exists, kubectl's discovery cache is warm (as for anyone who used it once).
    for (const c of commands) { await measure(c.shoal); await measure(c.kubectl) }
    const lines: string[] = []
    for (const c of commands) {
      const s: Sample[] = []
      const k: Sample[] = []
      for (let i = 0; i < RUNS; i++) {
        s.push(await measure(c.shoal))
        k.push(await measure(c.kubectl))
      }
      const sMs = percentile(s.map(x => x.ms), 50)
      const kMs = percentile(k.map(x => x.ms), 50)
      const sRss = Math.max(...s.map(x => x.rssKiB)) / 1024
      const kRss = Math.max(...k.map(x => x.rssKiB)) / 1024
      const ratio = sMs / kMs
      lines.push(`${c.what}: shoal ${sMs.toFixed(0)} ms (p90 ${percentile(s.map(x => x.ms), 90).toFixed(0)}), ${sRss.toFixed(0)} MiB; kubectl ${kMs.toFixed(0)} ms (p90 ${percentile(k.map(x => x.ms), 90).toFixed(0)}), ${kRss.toFixed(0)} MiB; ` +
        `${ratio.toFixed(2)}× kubectl's time (goal ≤ ${GOAL_RATIO}×: ${ratio <= GOAL_RATIO ? 'met' : 'MISSED'}), memory goal ≤ ${GOAL_RSS_MIB} MiB: ${sRss <= GOAL_RSS_MIB ? 'met' : 'MISSED'} (${RUNS} runs each, in turns)`)
    }
    return lines
  } finally {
    await agent.destroy()
    scratch.remove()
  }
}
