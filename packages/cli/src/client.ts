import { request } from 'node:http'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_API_PORT, formatHostPort, parseHostPort } from '@shoal/agent'

/** Where the CLI sends its request: an agent's TCP API, or the local agent's control socket. */
export type Target = { kind: 'tcp', host: string, port: number } | { kind: 'socket', path: string, dataDir: string }

export class CliError extends Error {}

/** `--server HOST[:PORT]` when given, else the control socket in the data dir. */
export function resolveTarget (server: string | undefined, dataDir: string): Target {
  if (server !== undefined) {
    try {
      return { kind: 'tcp', ...parseHostPort(server, DEFAULT_API_PORT) }
    } catch (err) {
      throw new CliError(`--server: ${(err as Error).message}`)
    }
  }
  return { kind: 'socket', path: join(dataDir, 'agent.sock'), dataDir }
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
      headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
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
