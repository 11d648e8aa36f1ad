import { existsSync, readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { join } from 'node:path'
import { DEFAULT_API_PORT, parseHostPort, userKubeconfigPath } from '@shoal/agent/places.ts'
import type { Endpoint } from './http.ts'

export { describeEndpoint, type Endpoint } from './http.ts'

export class CliError extends Error {}

/** The flags every command that talks to the cluster accepts. */
export interface TargetFlags {
  readonly server?: string
  /** The API bearer token. */
  readonly token?: string
  readonly kubeconfig?: string
  /** A PEM file with the CA to trust for --server. */
  readonly certificateAuthority?: string
  readonly insecureSkipTlsVerify?: boolean
  readonly dataDir: string
}

/** Where a command's requests go, and the namespace the kubeconfig's context names. */
export interface Target {
  readonly endpoint: Endpoint
  readonly namespace: string
  /** Where the endpoint came from, for error messages. */
  readonly source: string
}

interface Kubeconfig { server: string, token?: string, ca?: string, insecure: boolean, namespace: string }

interface KubeconfigDoc {
  'current-context'?: string
  contexts?: Array<{ name: string, context: { cluster: string, user: string, namespace?: string } }>
  clusters?: Array<{ name: string, cluster: { server: string, 'certificate-authority-data'?: string, 'certificate-authority'?: string, 'insecure-skip-tls-verify'?: boolean } }>
  users?: Array<{ name: string, user: { token?: string, tokenFile?: string } | null }>
}

/** The current context's server, CA, token and namespace from a kubeconfig file. */
export function readKubeconfig (path: string): Kubeconfig {
  let k: KubeconfigDoc
  try {
    k = parseYaml(readFileSync(path, 'utf8')) as KubeconfigDoc
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied (run as the agent\'s user)' : (err as Error).message
    throw new CliError(`cannot read kubeconfig ${path}: ${why}`)
  }
  if (typeof k !== 'object' || k === null) throw new CliError(`kubeconfig ${path} is not a kubeconfig`)
  const ctx = k.contexts?.find(c => c.name === k['current-context']) ?? k.contexts?.[0]
  const cluster = k.clusters?.find(c => c.name === ctx?.context.cluster)?.cluster
  if (cluster === undefined || typeof cluster.server !== 'string') throw new CliError(`kubeconfig ${path} has no cluster server for its current context`)
  const user = k.users?.find(u => u.name === ctx?.context.user)?.user ?? undefined
  let ca: string | undefined
  if (cluster['certificate-authority-data'] !== undefined) ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8')
  else if (cluster['certificate-authority'] !== undefined) ca = readFileSync(cluster['certificate-authority'], 'utf8')
  const token = user?.token ?? (user?.tokenFile !== undefined ? readFileSync(user.tokenFile, 'utf8').trim() : undefined)
  return {
    server: cluster.server,
    ...(token !== undefined ? { token } : {}),
    ...(ca !== undefined ? { ca } : {}),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    namespace: ctx?.context.namespace ?? 'default'
  }
}

/** `https://10.0.0.5:6443`, `10.0.0.5`, `[::1]:6443`: an API endpoint (HTTPS unless it says http://). */
function parseServer (server: string, what: string): { host: string, port: number, tls: boolean } {
  const tls = !server.startsWith('http://')
  try {
    return { ...parseHostPort(server.replace(/^https?:\/\//, '').replace(/\/+$/, ''), DEFAULT_API_PORT), tls }
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`)
  }
}

/** The kubeconfigs the CLI finds without being told: the local agent's data dir, then ~/.shoal/kubeconfig. */
function localKubeconfig (dataDir: string): string | undefined {
  return [join(dataDir, 'kubeconfig'), userKubeconfigPath()].find(p => existsSync(p))
}

/**
 * Which agent to talk to, first match wins: `--server` (with `--token`, or
 * the token and CA of the kubeconfig found below); `--kubeconfig`;
 * `SHOAL_KUBECONFIG`; the local agent's kubeconfig (in its data dir, or the
 * copy at ~/.shoal/kubeconfig); the local agent's control socket.
 */
export function resolveTarget (flags: TargetFlags): Target {
  const given = flags.kubeconfig ?? process.env.SHOAL_KUBECONFIG
  const found = given ?? localKubeconfig(flags.dataDir)
  if (flags.server !== undefined) {
    const k = found !== undefined ? readKubeconfig(found) : undefined
    const token = flags.token ?? k?.token
    const ca = flags.certificateAuthority !== undefined ? readCa(flags.certificateAuthority) : k?.ca
    const endpoint: Endpoint = { kind: 'tcp', ...parseServer(flags.server, '--server'), ...(token !== undefined ? { token } : {}), ...(ca !== undefined ? { ca } : {}), insecure: flags.insecureSkipTlsVerify === true || (k?.insecure ?? false) }
    return { endpoint, namespace: k?.namespace ?? 'default', source: `--server ${flags.server}` }
  }
  if (found !== undefined) {
    const k = readKubeconfig(found)
    const token = flags.token ?? k.token
    const endpoint: Endpoint = { kind: 'tcp', ...parseServer(k.server, `kubeconfig ${found}`), ...(token !== undefined ? { token } : {}), ...(k.ca !== undefined ? { ca: k.ca } : {}), insecure: flags.insecureSkipTlsVerify === true || k.insecure }
    return { endpoint, namespace: k.namespace, source: `kubeconfig ${found}` }
  }
  const socket = join(flags.dataDir, 'agent.sock')
  if (!existsSync(socket)) {
    throw new CliError(`no cluster to talk to: no agent runs with data dir ${flags.dataDir} and no kubeconfig was given; pass --kubeconfig FILE (or --server HOST[:PORT] --token TOKEN), or start an agent with \`shoal agent\``)
  }
  return { endpoint: { kind: 'socket', path: socket }, namespace: 'default', source: `the local agent (${socket})` }
}

/** The control socket of the local agent: join and leave go only there. */
export function controlTarget (dataDir: string): Target {
  const socket = join(dataDir, 'agent.sock')
  if (!existsSync(socket)) throw new CliError(`no agent is running with data dir ${dataDir}; start one with \`shoal agent\` (or pass --data-dir)`)
  return { endpoint: { kind: 'socket', path: socket }, namespace: 'default', source: `the local agent (${socket})` }
}

function readCa (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliError(`--certificate-authority ${path}: ${(err as Error).message}`)
  }
}
