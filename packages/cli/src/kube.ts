import type { Command } from 'cac'
import { defaultDataDir } from '@shoal/agent/places.ts'
import { resolveResource, type KindInfo } from '@shoal/core/api/index.ts'
import { CliError, resolveTarget, type Target } from './client.ts'

/**
 * What every kubectl-style command shares: the flags that choose the agent
 * and the namespace, and the URL of a resource, so each command file only
 * says what it does with them.
 */

/** The connection and namespace flags, as cac hands them over (camelCase). */
export interface ConnectionFlags {
  server?: unknown
  token?: unknown
  kubeconfig?: unknown
  certificateAuthority?: unknown
  insecureSkipTlsVerify?: unknown
  dataDir?: unknown
  namespace?: unknown
  allNamespaces?: unknown
}

/** Add the flags that choose the agent and namespace to a command. */
export function withConnectionFlags (cmd: Command, opts: { namespaced?: boolean } = {}): Command {
  cmd
    .option('--server <host[:port]>', 'the agent to talk to (env SHOAL_SERVER; default: from the kubeconfig)')
    .option('--token <token>', 'API bearer token (default: from the kubeconfig)')
    .option('--kubeconfig <file>', 'kubeconfig to use (env SHOAL_KUBECONFIG; default: the local agent\'s, or ~/.shoal/kubeconfig)')
    .option('--certificate-authority <file>', 'PEM file of the CA to trust for --server')
    .option('--insecure-skip-tls-verify', 'do not check the server\'s certificate (unsafe)')
    .option('--data-dir <dir>', 'the local agent\'s data dir, where its kubeconfig is (env SHOAL_DATA_DIR)')
  if (opts.namespaced !== false) cmd.option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context\'s, else default)')
  return cmd
}

const str = (v: unknown): string | undefined => v === undefined || v === true || v === false ? undefined : String(v)

/** The agent and namespace a command talks to. */
export function connect (flags: ConnectionFlags): Target {
  const server = str(flags.server) ?? process.env.SHOAL_SERVER
  const token = str(flags.token)
  const kubeconfig = str(flags.kubeconfig)
  const ca = str(flags.certificateAuthority)
  const target = resolveTarget({
    dataDir: str(flags.dataDir) ?? process.env.SHOAL_DATA_DIR ?? defaultDataDir(),
    ...(server !== undefined ? { server } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(ca !== undefined ? { certificateAuthority: ca } : {}),
    insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true
  })
  const namespace = str(flags.namespace)
  return namespace !== undefined ? { ...target, namespace } : target
}

/** What a user typed for a kind (`deploy`, `pods`, `Service`), or a one-line error listing what there is. */
export function kindOf (typed: string): KindInfo {
  const k = resolveResource(typed)
  if (k === undefined) throw new CliError(`the server doesn't have a resource type "${typed}"`)
  return k
}

/**
 * The URL of a kind's collection or of one object: `/api/v1/namespaces/default/pods/web`,
 * `/apis/apps/v1/deployments` (every namespace when `namespace` is undefined), `/api/v1/nodes/n1`.
 */
export function resourcePath (k: KindInfo, namespace: string | undefined, name?: string, subresource?: string): string {
  const prefix = k.group === '' ? '/api/v1' : `/apis/${k.group}/${k.version}`
  const ns = k.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${prefix}${ns}/${k.resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}${subresource !== undefined ? `/${subresource}` : ''}`
}

/** `deployment/web` or `deployment web` → the kind and the name. */
export function kindAndName (first: string, second: string | undefined): { kind: KindInfo, name: string } {
  const slash = first.indexOf('/')
  if (slash > 0) {
    if (second !== undefined) throw new CliError(`there is no need to give a name after ${first}`)
    return { kind: kindOf(first.slice(0, slash)), name: first.slice(slash + 1) }
  }
  if (second === undefined) throw new CliError(`a name is required: ${first} NAME (or ${first}/NAME)`)
  return { kind: kindOf(first), name: second }
}
