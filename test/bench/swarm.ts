import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type Docker from 'dockerode'

const run = promisify(execFile)

/** The swarm a bench compares Shoal with; `initialised`: the bench made it, and leaves it afterwards. */
export interface BenchSwarm {
  readonly initialised: boolean
}

/**
 * The engine's swarm as a manager, or a new one on loopback when the engine
 * is in none. Undefined, with a SKIPPED line, when neither can be had.
 * Swarm's gossip takes port 7946 on every address: no agent may start on
 * that port until leaveSwarm.
 */
export async function enterSwarm (lines: string[], docker: Docker): Promise<BenchSwarm | undefined> {
  const info = await docker.info() as { Swarm?: { LocalNodeState?: string, ControlAvailable?: boolean } }
  const state = info.Swarm?.LocalNodeState ?? 'unknown'
  if (state === 'inactive') {
    try {
      await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'])
      return { initialised: true }
    } catch (err) {
      lines.push(`swarm: SKIPPED, \`docker swarm init --advertise-addr 127.0.0.1\` failed: ${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim().slice(0, 200)}`)
      return undefined
    }
  }
  if (state !== 'active' || info.Swarm?.ControlAvailable !== true) {
    lines.push(`swarm: SKIPPED, this engine is in swarm state "${state}"${state === 'active' ? ' as a worker (services need a manager)' : ''}`)
    return undefined
  }
  return { initialised: false }
}

/** Leave the swarm if the bench made it. */
export async function leaveSwarm (lines: string[], swarm: BenchSwarm): Promise<void> {
  if (!swarm.initialised) return
  await run('docker', ['swarm', 'leave', '--force']).catch((err: Error) => { lines.push(`swarm: could not leave the swarm: ${err.message}`) })
}
