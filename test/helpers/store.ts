import type { AgentProcess } from './agents.ts'

export interface RaftStatusView {
  role: string
  leader: string | null
  term: number
  commit: number
  applied: number
  lastIndex: number
  conf: { voters: string[], learners: string[] }
}

export async function raftStatus (a: AgentProcess): Promise<RaftStatusView> {
  const res = await fetch(`${a.api}/api/shoal/v1/raft`, { signal: AbortSignal.timeout(2000) })
  if (!res.ok) throw new Error(`raft status of ${a.name}: HTTP ${res.status}`)
  return await res.json() as RaftStatusView
}

/** Create a small object through `a`'s raw store API; resolves with the HTTP status and body. */
export async function createObject (a: AgentProcess, name: string, data: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ status: number, body: any }> {
  const res = await fetch(`${a.api}/api/shoal/v1/store`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ op: 'create', resource: 'configmaps', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data } }),
    signal: AbortSignal.timeout(timeoutMs)
  })
  return { status: res.status, body: await res.json() }
}

export async function listNames (a: AgentProcess, consistent = false): Promise<string[]> {
  const res = await fetch(`${a.api}/api/shoal/v1/store/configmaps?namespace=default${consistent ? '&consistent' : ''}`, { signal: AbortSignal.timeout(15_000) })
  if (!res.ok) throw new Error(`list on ${a.name}: HTTP ${res.status}`)
  return ((await res.json()) as { items: Array<{ metadata: { name: string } }> }).items.map(i => i.metadata.name).sort()
}
