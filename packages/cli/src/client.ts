import { request } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { join } from 'node:path'
import { DEFAULT_API_PORT, formatHostPort, parseHostPort } from '@shoal/agent'

/** Where the CLI sends its request: an agent's TCP API, or the local agent's control socket. */
export type Target = { kind: 'tcp', host: string, port: number, token?: string } | { kind: 'socket', path: string, dataDir: string }

export class CliError extends Error {}

export interface TargetFlags {
  readonly server?: string
  /** The API bearer token. */
  readonly token?: string
  readonly kubeconfig?: string
  readonly dataDir: string
}

interface Kubeconfig { server: string, token?: string }

/** The current context's server and token from a kubeconfig file. */
export function readKubeconfig (path: string): Kubeconfig {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new CliError(`cannot read kubeconfig ${path}: ${(err as Error).message}`)
  }
  const k = doc as { 'current-context'?: string, contexts?: Array<{ name: string, context: { cluster: string, user: string } }>, clusters?: Array<{ name: string, cluster: { server: string } }>, users?: Array<{ name: string, user: { token?: string } }> }
  const ctx = k.contexts?.find(c => c.name === k['current-context']) ?? k.contexts?.[0]
  const cluster = k.clusters?.find(c => c.name === ctx?.context.cluster)
  if (cluster === undefined) throw new CliError(`kubeconfig ${path} has no cluster for its current context`)
  const token = k.users?.find(u => u.name === ctx?.context.user)?.user.token
  return { server: cluster.cluster.server, ...(token !== undefined ? { token } : {}) }
}

/**
 * Which agent to talk to, first match wins: `--server` (with `--token`, or
 * the token of the kubeconfig below); `--kubeconfig`; `SHOAL_KUBECONFIG`; the
 * local agent's control socket in the data dir.
 */
export function resolveTarget (flags: TargetFlags): Target {
  const kubeconfigPath = flags.kubeconfig ?? process.env.SHOAL_KUBECONFIG
  const localKubeconfig = join(flags.dataDir, 'kubeconfig')
  if (flags.server !== undefined) {
    let hostPort
    try {
      hostPort = parseHostPort(flags.server.replace(/^https?:\/\//, ''), DEFAULT_API_PORT)
    } catch (err) {
      throw new CliError(`--server: ${(err as Error).message}`)
    }
    let token = flags.token
    if (token === undefined) {
      const source = kubeconfigPath ?? (existsSync(localKubeconfig) ? localKubeconfig : undefined)
      if (source !== undefined) token = readKubeconfig(source).token
    }
    return { kind: 'tcp', ...hostPort, ...(token !== undefined ? { token } : {}) }
  }
  if (kubeconfigPath !== undefined) {
    const k = readKubeconfig(kubeconfigPath)
    const hostPort = parseHostPort(k.server.replace(/^https?:\/\//, ''), DEFAULT_API_PORT)
    return { kind: 'tcp', ...hostPort, ...(k.token !== undefined ? { token: k.token } : {}) }
  }
  return { kind: 'socket', path: join(flags.dataDir, 'agent.sock'), dataDir: flags.dataDir }
}

export function describeTarget (t: Target): string {
  return t.kind === 'tcp' ? formatHostPort(t.host, t.port) : `the local agent (${t.path})`
}

/** One JSON request; a Kubernetes Status answer becomes a CliError carrying its message. */
export async function call<T> (target: Target, method: string, path: string, body?: unknown): Promise<T> {
  if (target.kind === 'socket' && !existsSync(target.path)) {
    throw new CliError(`no agent is running with data dir ${target.dataDir}; start one with \`shoal agent\`, or pass --server HOST[:PORT] (or --data-dir)`)
  }
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise<T>((resolve, reject) => {
    const req = request({
      ...(target.kind === 'tcp' ? { host: target.host, port: target.port } : { socketPath: target.path }),
      method,
      path,
      headers: {
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(target.kind === 'tcp' && target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {})
      },
      timeout: 30_000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try {
          parsed = JSON.parse(text)
        } catch {}
        if ((res.statusCode ?? 500) >= 400) {
          const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? String((parsed as { message: unknown }).message) : text
          reject(new CliError(message))
          return
        }
        resolve(parsed as T)
      })
    })
    req.on('timeout', () => req.destroy(new CliError(`${describeTarget(target)} did not answer within 30 s`)))
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof CliError) reject(err)
      else if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') reject(new CliError(`cannot reach ${describeTarget(target)}: connection refused (is the agent running?)`))
      else reject(new CliError(`cannot reach ${describeTarget(target)}: ${err.message}`))
    })
    req.end(payload)
  })
}
