import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeToken } from '@shoal/agent/cluster/token.ts'
import type { Member } from '@shoal/core'
import { CliError, controlTarget, resolveTarget, type Target, type TargetFlags } from '../client.ts'
import { request, ServerError } from '../api.ts'
import { formatAge, formatTable } from '../format.ts'

interface AgentInfo { name: string, clusterId: string }

/** A request of the agent's own commands: a refusal prints as `error: …` with the agent's message, not as a Kubernetes Status. */
async function call<T> (target: Target, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await request<T>(target, method, path, { body })
  } catch (err) {
    throw err instanceof ServerError ? new CliError(err.message) : err
  }
}

/** `shoal token`: read the join token from the local data dir (readable by its owner only). */
export async function printToken (dataDir: string): Promise<string> {
  let cluster
  try {
    // Loaded here: it brings libp2p's keys, which no other command needs.
    const { DataDir } = await import('@shoal/agent/data-dir.ts')
    cluster = await new DataDir(dataDir).loadCluster()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new CliError(`cannot read ${join(dataDir, 'cluster.json')}: permission denied (run as the agent's user)`)
    throw err
  }
  if (cluster === undefined) throw new CliError(`no cluster in data dir ${dataDir}; start an agent there with \`shoal agent\` first, or pass --data-dir`)
  return encodeToken(cluster) + '\n'
}

export async function joinCluster (dataDir: string, address: string, token: string): Promise<string> {
  const info = await call<AgentInfo>(controlTarget(dataDir), 'POST', '/api/shoal/v1/join', { address, token })
  return `node ${info.name} joined cluster ${info.clusterId}\n`
}

export async function leaveCluster (dataDir: string): Promise<string> {
  const target = controlTarget(dataDir)
  const info = await call<AgentInfo>(target, 'GET', '/api/shoal/v1/info')
  await call(target, 'POST', '/api/shoal/v1/leave')
  // The agent stops after answering; wait until its socket is gone, so the
  // caller can rely on the agent having left when this returns.
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (target.endpoint.kind === 'socket' && !existsSync(target.endpoint.path)) return `node ${info.name} left cluster ${info.clusterId}\n`
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new CliError(`node ${info.name} announced its leave but did not stop within 10 s`)
}

export async function listMembers (target: TargetFlags, output: string | undefined, now: number): Promise<string> {
  const list = await call<{ items: Array<Member & { raft?: { role: string, match: number | null } }> }>(resolveTarget(target), 'GET', '/api/shoal/v1/members')
  if (output === 'json') return JSON.stringify(list, null, 2) + '\n'
  if (output !== undefined && output !== 'wide') throw new CliError(`-o ${output}: unknown output format (use json or wide)`)
  const wide = output === 'wide'
  const headers = ['NAME', 'STATE', 'ROLE', 'MATCH', 'ADDRESS', 'LAST-SEEN', 'PEER-ID', ...(wide ? ['INCARNATION', 'CPUS', 'MEMORY', 'VERSION'] : [])]
  const rows = list.items.map(m => [
    m.name, m.state, m.raft?.role ?? '-', m.raft?.match === null || m.raft?.match === undefined ? '-' : String(m.raft.match), addressOf(m), `${formatAge(now - m.lastSeenMs)} ago`, m.peerId,
    ...(wide ? [String(m.incarnation), String(m.capacity.cpus), `${Math.round(m.capacity.memoryBytes / 2 ** 20)}Mi`, m.version] : [])
  ])
  return formatTable(headers, rows)
}

/** `/ip4/10.0.0.5/tcp/7946` → `10.0.0.5:7946`. */
function addressOf (m: Member): string {
  const match = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(m.addrs[0] ?? '')
  return match === null ? (m.addrs[0] ?? '') : `${match[1]}:${match[2]}`
}

/** `shoal kubeconfig`: the admin kubeconfig the local agent wrote into its data dir. */
export async function printKubeconfig (dataDir: string): Promise<string> {
  try {
    return readFileSync(join(dataDir, 'kubeconfig'), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new CliError(`no kubeconfig in data dir ${dataDir}; start an agent there with \`shoal agent\` first, or pass --data-dir`)
    if (code === 'EACCES') throw new CliError(`cannot read ${join(dataDir, 'kubeconfig')}: permission denied (run as the agent's user)`)
    throw err
  }
}
