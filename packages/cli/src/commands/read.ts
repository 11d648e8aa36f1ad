import type { CAC } from 'cac'
import { withConnectionFlags } from '../kube.ts'
import type { DescribeFlags } from './read/describe.ts'
import type { GetFlags } from './read/get.ts'
import type { VersionFlags } from './read/info.ts'
import type { LogsFlags } from './read/logs.ts'
import type { ConnectionFlags } from '../kube.ts'

/**
 * The commands that read the cluster, kubectl's way: get, describe, logs,
 * cluster-info and version. Each talks to one agent (any agent serves the
 * whole API from its replica); a server's refusal prints as kubectl prints it.
 */
export function registerReadCommands (cli: CAC): void {
  withConnectionFlags(cli.command('get [...resources]', 'Display one or many resources: pods, deployments, replicasets, services, endpoints, events, nodes, namespaces, configmaps, or all'))
    .option('-o, --output <format>', 'wide (more columns), json, yaml or name (kind/name)')
    .option('-l, --selector <selector>', 'label selector: app=web, tier!=db, env in (prod,qa), !canary')
    .option('--field-selector <selector>', 'field selector: metadata.name=web, spec.nodeName=node-1, status.phase!=Running')
    .option('-A, --all-namespaces', 'every namespace, with a NAMESPACE column')
    .option('-w, --watch', 'after listing, print a line for every change until interrupted')
    .option('--watch-only', 'print only the changes, without listing first')
    .option('--output-watch-events', 'with --watch, an EVENT column first: ADDED, MODIFIED or DELETED')
    .option('--show-labels', 'a LABELS column last')
    .option('--no-headers', 'leave out the header line')
    .example('shoal get pods')
    .example('shoal get deploy,svc -o wide')
    .example('shoal get pods -A -l app=web')
    .example('shoal get deploy/web -o yaml')
    .example('shoal get pod web-1 db-0 -o name')
    .example('shoal get all -n kube-system')
    .example('shoal get pods -w')
    .action(async (resources: string[], flags: GetFlags) => { await (await import('./read/get.ts')).runGet(resources.map(String), flags) })

  withConnectionFlags(cli.command('describe [...resources]', 'Show details of an object, or of every object of a kind, with the events about it'))
    .option('-l, --selector <selector>', 'describe only the objects with these labels')
    .option('-A, --all-namespaces', 'every namespace')
    .example('shoal describe pod web-1')
    .example('shoal describe deploy/web')
    .example('shoal describe pods -l app=web')
    .example('shoal describe nodes')
    .action(async (resources: string[], flags: DescribeFlags) => { await (await import('./read/describe.ts')).runDescribe(resources.map(String), flags) })

  withConnectionFlags(cli.command('logs [...pod]', 'Print the logs of a container in a pod (POD [CONTAINER], or TYPE/NAME for one of its pods)'))
    .option('-c, --container <name>', 'the container (default: the only one, else the first)')
    .option('-f, --follow', 'keep printing the log as it grows')
    .option('--tail <lines>', 'only the last N lines (-1 for all)')
    .option('-p, --previous', 'the log of the previous, terminated instance of the container')
    .option('--timestamps', 'prefix each line with its RFC 3339 timestamp')
    .example('shoal logs web-1')
    .example('shoal logs web-1 -c sidecar --tail 20 -f')
    .example('shoal logs deploy/web --previous')
    .action(async (pod: string[], flags: LogsFlags) => { await (await import('./read/logs.ts')).runLogs(pod.map(String), flags) })

  withConnectionFlags(cli.command('cluster-info', 'Print the address of the control plane (the agent asked)'), { namespaced: false })
    .example('shoal cluster-info')
    .example('shoal cluster-info --server 10.0.0.5')
    .action(async (flags: ConnectionFlags) => { await (await import('./read/info.ts')).runClusterInfo(flags) })

  withConnectionFlags(cli.command('version', 'Print the client and server versions'), { namespaced: false })
    .option('--client', 'the client version only (no agent needed)')
    .option('-o, --output <format>', 'json or yaml')
    .example('shoal version')
    .example('shoal version --client')
    .action(async (flags: VersionFlags) => { await (await import('./read/info.ts')).runVersion(flags) })
}
