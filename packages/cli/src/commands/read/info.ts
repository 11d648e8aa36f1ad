import { formatHostPort } from '@shoal/agent/places.ts'
import { VERSION } from '@shoal/agent/version.ts'
import { CliError, type Target } from '../../client.ts'
import { connect, type ConnectionFlags } from '../../kube.ts'
import { getJson, withQuery } from '../../api.ts'
import { meta, nameOf, rec, recs, str, type Obj } from './obj.ts'
import { toYaml } from './output.ts'

/** `shoal cluster-info` and `shoal version`, as kubectl prints them. */

/** The URL of the agent a command talks to. */
function serverUrl (target: Target): string {
  const e = target.endpoint
  return e.kind === 'tcp' ? `${e.tls ? 'https' : 'http'}://${formatHostPort(e.host, e.port)}` : `unix://${e.path}`
}

/**
 * The control plane's URL (the agent asked: any agent serves the whole API),
 * and the cluster services kubectl lists (labelled kubernetes.io/cluster-service).
 */
export async function runClusterInfo (flags: ConnectionFlags): Promise<void> {
  const target = connect(flags)
  const url = serverUrl(target)
  const services = recs((await getJson<{ items?: unknown }>(target, withQuery('/api/v1/namespaces/kube-system/services', { labelSelector: 'kubernetes.io/cluster-service=true' }))).items)
  let out = `Kubernetes control plane is running at ${url}\n`
  for (const s of services) {
    const label = str(rec(meta(s)['labels'])['kubernetes.io/name']) || nameOf(s)
    const ports = recs(rec(s['spec'])['ports'])
    const portName = str(ports[0]?.['name'])
    out += `${label} is running at ${url}/api/v1/namespaces/kube-system/services/${portName !== '' ? `${nameOf(s)}:${portName}` : nameOf(s)}/proxy\n`
  }
  out += '\nTo further debug and diagnose cluster problems, use \'shoal describe nodes\' and \'shoal members\'.\n'
  process.stdout.write(out)
}

export interface VersionFlags extends ConnectionFlags {
  client?: unknown
  output?: unknown
}

/** Client and server versions; the client's is printed even when no server answers. */
export async function runVersion (flags: VersionFlags): Promise<void> {
  const output = flags.output === undefined ? undefined : String(flags.output)
  if (output !== undefined && output !== 'json' && output !== 'yaml') throw new CliError(`--output must be 'yaml' or 'json', not ${JSON.stringify(output)}`)
  const clientVersion = { gitVersion: `v${VERSION}`, nodeVersion: process.version, platform: `${process.platform}/${process.arch}` }
  let serverVersion: Obj | undefined
  let failure: unknown
  if (flags.client !== true) {
    try {
      serverVersion = await getJson<Obj>(connect(flags), '/version')
    } catch (err) {
      failure = err
    }
  }
  const doc = { clientVersion, ...(serverVersion !== undefined ? { serverVersion } : {}) }
  if (output === 'json') process.stdout.write(JSON.stringify(doc, null, 2) + '\n')
  else if (output === 'yaml') process.stdout.write(toYaml(doc))
  else process.stdout.write(`Client Version: ${clientVersion.gitVersion}\n${serverVersion !== undefined ? `Server Version: ${str(serverVersion['gitVersion'])}\n` : ''}`)
  if (failure !== undefined) throw failure
}
