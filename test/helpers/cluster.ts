import { request as httpRequest } from 'node:http'
import { AgentProcess, shoal } from './agents.ts'
import { waitFor } from './wait.ts'
import { raftStatus } from './store.ts'

type Json = any

/** The first agent starts a cluster, the others join it with its token; resolves when every node is Ready and `voters` vote. */
export async function startCluster (agents: readonly AgentProcess[], opts: { env?: NodeJS.ProcessEnv, voters?: number } = {}): Promise<void> {
  const [first, ...rest] = agents
  if (first === undefined) throw new Error('startCluster: no agents')
  await first.start([], opts.env)
  const token = (await shoal(['token', '--data-dir', first.dataDir])).stdout.trim()
  for (const a of rest) await a.start(['--join', first.ip, '--token', token], opts.env)
  await waitFor(`${agents.length} Ready nodes`, async () => {
    const nodes = (await first.getJson('/api/v1/nodes')).items as Json[]
    return nodes.length === agents.length && nodes.every(n => n.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True'))
  }, { timeoutMs: 30_000, intervalMs: 200 })
  const voters = opts.voters ?? Math.min(3, agents.length)
  await waitFor(`${voters} voters`, async () => (await raftStatus(first)).conf.voters.length === voters, { timeoutMs: 30_000, intervalMs: 200 })
}

/**
 * A Deployment `web` (label app=web) of busybox httpd pods on port 8080,
 * each answering with its own name (its hostname), Ready by `readinessProbe`.
 */
export function hostnameWebDeployment (replicas: number, readinessProbe: Record<string, unknown>, setup = ''): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: 'web',
            image: 'shoal-test/busybox:1',
            command: ['sh', '-c', `mkdir -p /www && hostname > /www/index.html && ${setup}exec httpd -f -p 8080 -h /www`],
            ports: [{ containerPort: 8080 }],
            readinessProbe
          }]
        }
      }
    }
  }
}

/** A Node or pod whose Ready condition is True. */
export const isReadyObject = (o: any): boolean => (o.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')

/** One GET of `/` without keep-alive: the body (trimmed) of a 200, else undefined. */
export async function fetchBody (host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return await new Promise(resolve => {
    const req = httpRequest({ host, port, path: '/', agent: false, timeout: timeoutMs }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve(res.statusCode === 200 ? body.trim() : undefined) })
    })
    req.on('timeout', () => { req.destroy() })
    req.on('error', () => { resolve(undefined) })
    req.end()
  })
}
