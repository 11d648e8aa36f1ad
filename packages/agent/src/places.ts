import { homedir } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'

/**
 * Where an agent lives and answers: its default ports and data dir, and
 * `HOST[:PORT]` as flags write it. Apart from config.ts, with nothing
 * heavier than node: imports, because the CLI's commands need these too and
 * must start without loading the agent.
 */

export const DEFAULT_MESH_PORT = 7946
export const DEFAULT_API_PORT = 6443

/** `/var/lib/shoal` for root, else `~/.shoal`. */
export function defaultDataDir (): string {
  return process.getuid?.() === 0 ? '/var/lib/shoal' : join(homedir(), '.shoal')
}

/** The copy of the local agent's kubeconfig that `shoal` finds without flags. */
export function userKubeconfigPath (): string {
  return join(homedir(), '.shoal', 'kubeconfig')
}

/** Parse `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`. */
export function parseHostPort (value: string, defaultPort: number): { host: string, port: number } {
  const v = value.trim()
  let host: string
  let portText: string | undefined
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(v)
  if (bracket !== null) {
    host = bracket[1]!
    portText = bracket[2]
  } else if (isIP(v) === 6) {
    host = v
  } else {
    const i = v.lastIndexOf(':')
    host = i < 0 ? v : v.slice(0, i)
    portText = i < 0 ? undefined : v.slice(i + 1)
  }
  if (host.length === 0 || /[\s/]/.test(host)) throw new Error(`${JSON.stringify(value)} is not HOST[:PORT]`)
  const port = portText === undefined ? defaultPort : Number(portText)
  if (!/^\d+$/.test(portText ?? '1') || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${JSON.stringify(value)} has an invalid port`)
  }
  return { host, port }
}

/** `HOST:PORT`, bracketing IPv6. */
export function formatHostPort (host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}
