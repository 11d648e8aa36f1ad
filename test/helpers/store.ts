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
  return await a.getJson<RaftStatusView>('/api/shoal/v1/raft', 2000)
}

/** Create a small object through `a`'s raw store API; resolves with the HTTP status and body. */
export async function createObject (a: AgentProcess, name: string, data: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ status: number, body: any }> {
  const res = await a.request('POST', '/api/shoal/v1/store', {
    json: { op: 'create', resource: 'configmaps', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data } },
    timeoutMs
  })
  return { status: res.status, body: JSON.parse(res.text) }
}

export async function listNames (a: AgentProcess, consistent = false): Promise<string[]> {
  const list = await a.getJson<{ items: Array<{ metadata: { name: string } }> }>(`/api/shoal/v1/store/configmaps?namespace=default${consistent ? '&consistent' : ''}`)
  return list.items.map(i => i.metadata.name).sort()
}
