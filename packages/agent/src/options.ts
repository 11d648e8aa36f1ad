import { MEMBERS_LAN_DEFAULTS, type MembersConfig } from '@shoal/core/members/config.ts'
import { POD_CIDR_DEFAULTS } from '@shoal/core/store/pod-cidrs.ts'
import type { AgentInit } from './config.ts'
import { DEFAULT_API_PORT, DEFAULT_MESH_PORT } from './places.ts'

/**
 * Every setting of `shoal agent`, once: its flag, its environment variable
 * (SHOAL_ and the flag), its default and its help. The CLI registers the
 * flags from this table, agentInitFrom reads flags and variables by it, and
 * resolveAgentConfig takes its defaults from AGENT_DEFAULTS. Nothing here
 * loads more than two small modules of core: the CLI reads it on every run.
 */

/** The defaults that are values (the rest are worked out: see each option's default text). */
export const AGENT_DEFAULTS = Object.freeze({
  bind: '0.0.0.0',
  port: DEFAULT_MESH_PORT,
  apiPort: DEFAULT_API_PORT,
  joinRetryMs: 0,
  voters: 3,
  clusterCIDR: POD_CIDR_DEFAULTS.clusterCIDR,
  nodeCIDRMaskSize: POD_CIDR_DEFAULTS.nodeCIDRMaskSize,
  raftTickMs: 50,
  voterGraceMs: 2000,
  backoffInitialMs: 10_000,
  backoffMaxMs: 300_000,
  maxPods: 110,
  podNetwork: 'auto',
  networkBackend: 'auto',
  podEvictionTimeoutMs: 3000,
  dockerSocket: '/var/run/docker.sock',
  runtime: 'docker',
  controllers: '*',
  logLevel: 'info'
})

/** Where an option's value goes: a key of AgentInit, one of its members settings, or the log level (the logger's). */
export type OptionKey = Exclude<keyof AgentInit, 'members'> | `members.${keyof MembersConfig}` | 'logLevel'

export interface AgentOption {
  /** The flag, without its dashes. */
  readonly flag: string
  /** What its value is, as the help shows it: `<ms>`. */
  readonly arg: string
  readonly type: 'string' | 'number'
  readonly key: OptionKey
  readonly help: string
  /** The default value, as the help says it. */
  readonly default?: string | number
  /** How the default is worked out, when it is not one value. */
  readonly chosen?: string
}

export const AGENT_OPTIONS: readonly AgentOption[] = [
  { flag: 'data-dir', arg: '<dir>', type: 'string', key: 'dataDir', help: 'agent data dir', chosen: '/var/lib/shoal as root, else ~/.shoal' },
  { flag: 'name', arg: '<name>', type: 'string', key: 'name', help: 'node name, unique in the cluster', chosen: 'the hostname' },
  { flag: 'bind', arg: '<addr>', type: 'string', key: 'bind', help: 'address to listen on', default: AGENT_DEFAULTS.bind },
  { flag: 'advertise', arg: '<addr>', type: 'string', key: 'advertise', help: 'address the other members use to reach this one', chosen: '--bind, or the first non-loopback address' },
  { flag: 'port', arg: '<port>', type: 'number', key: 'port', help: 'mesh TCP port', default: AGENT_DEFAULTS.port },
  { flag: 'api-port', arg: '<port>', type: 'number', key: 'apiPort', help: 'HTTP API TCP port', default: AGENT_DEFAULTS.apiPort },
  { flag: 'join', arg: '<host[:port]>', type: 'string', key: 'join', help: 'join the cluster of the member at this address' },
  { flag: 'token', arg: '<token>', type: 'string', key: 'token', help: 'join token, printed by `shoal token` on a member' },
  { flag: 'join-retry-ms', arg: '<ms>', type: 'number', key: 'joinRetryMs', help: 'keep trying the first join this long while the member does not answer, backing off from 1 s to 30 s', default: `${AGENT_DEFAULTS.joinRetryMs}: fail at once` },
  { flag: 'heartbeat-ms', arg: '<ms>', type: 'number', key: 'members.heartbeatIntervalMs', help: 'membership heartbeat interval', default: MEMBERS_LAN_DEFAULTS.heartbeatIntervalMs },
  { flag: 'suspect-after-ms', arg: '<ms>', type: 'number', key: 'members.suspectAfterMs', help: 'silence before a member is suspect', default: MEMBERS_LAN_DEFAULTS.suspectAfterMs },
  { flag: 'suspicion-timeout-ms', arg: '<ms>', type: 'number', key: 'members.suspicionTimeoutMs', help: 'time a suspect has to refute before it is dead', default: MEMBERS_LAN_DEFAULTS.suspicionTimeoutMs },
  { flag: 'voters', arg: '<n>', type: 'number', key: 'voters', help: 'voters the cluster keeps, 1, 3, 5 or 7; used when this agent creates the cluster', default: AGENT_DEFAULTS.voters },
  { flag: 'cluster-cidr', arg: '<cidr>', type: 'string', key: 'clusterCIDR', help: 'the pods\' addresses, an IPv4 CIDR; each node gets a range of it; used when this agent creates the cluster', default: AGENT_DEFAULTS.clusterCIDR },
  { flag: 'node-cidr-mask-size', arg: '<n>', type: 'number', key: 'nodeCIDRMaskSize', help: 'prefix length of each node\'s pod range within --cluster-cidr, up to 28; used when this agent creates the cluster', default: AGENT_DEFAULTS.nodeCIDRMaskSize },
  { flag: 'raft-tick-ms', arg: '<ms>', type: 'number', key: 'raftTickMs', help: 'Raft tick: elections after 10-20 silent ticks, leader heartbeat every 2 ticks', default: AGENT_DEFAULTS.raftTickMs },
  { flag: 'voter-grace-ms', arg: '<ms>', type: 'number', key: 'voterGraceMs', help: 'a voter down this long is replaced by a learner', default: AGENT_DEFAULTS.voterGraceMs },
  { flag: 'backoff-initial-ms', arg: '<ms>', type: 'number', key: 'backoffInitialMs', help: 'first delay before a crashed container restarts, doubling each time', default: AGENT_DEFAULTS.backoffInitialMs },
  { flag: 'backoff-max-ms', arg: '<ms>', type: 'number', key: 'backoffMaxMs', help: 'longest delay before a crashed container restarts', default: AGENT_DEFAULTS.backoffMaxMs },
  { flag: 'max-pods', arg: '<n>', type: 'number', key: 'maxPods', help: 'the most pods this node runs: its Node\'s pods capacity', default: AGENT_DEFAULTS.maxPods },
  { flag: 'controllers', arg: '<list>', type: 'string', key: 'controllers', help: 'the leader\'s loops to run: * or a list of nodes, nodelifecycle, garbagecollector, deployment, replicaset, scheduler, endpoint, service; -NAME leaves one out', default: AGENT_DEFAULTS.controllers },
  { flag: 'publish-address', arg: '<ip>', type: 'string', key: 'publishAddress', help: 'where the Docker engine publishes pods\' ports, when not on the advertised address: an agent in a container using the host\'s engine' },
  { flag: 'pod-network', arg: '<mode>', type: 'string', key: 'podNetwork', help: 'shoal: pods get addresses from the node\'s range on the pod network; docker: Docker\'s bridge, ports published on the node; auto: shoal as root with the engine beside the agent, else docker', default: AGENT_DEFAULTS.podNetwork },
  { flag: 'network-backend', arg: '<backend>', type: 'string', key: 'networkBackend', help: 'how other nodes\' pods are reached: host-gw (routes via node addresses on a shared link), vxlan (a kernel VXLAN overlay), auto (host-gw on a shared link, VXLAN beyond)', default: AGENT_DEFAULTS.networkBackend },
  { flag: 'pod-eviction-timeout-ms', arg: '<ms>', type: 'number', key: 'podEvictionTimeoutMs', help: 'a node not Ready this long has its pods replaced elsewhere', default: AGENT_DEFAULTS.podEvictionTimeoutMs },
  { flag: 'docker-socket', arg: '<path>', type: 'string', key: 'dockerSocket', help: 'the Docker engine that runs this node\'s pods', default: AGENT_DEFAULTS.dockerSocket },
  { flag: 'runtime', arg: '<runtime>', type: 'string', key: 'runtime', help: 'docker: pods run in the Docker engine; hollow: a simulated engine that runs nothing, for benchmarks and tests of the control plane', default: AGENT_DEFAULTS.runtime },
  { flag: 'log-level', arg: '<level>', type: 'string', key: 'logLevel', help: 'trace, debug, info, warn or error', default: AGENT_DEFAULTS.logLevel }
]

/** `SHOAL_JOIN_RETRY_MS` for --join-retry-ms. */
export function envOf (o: AgentOption): string {
  return `SHOAL_${o.flag.toUpperCase().replaceAll('-', '_')}`
}

/** The help line: what it does, its variable and its default. */
export function helpOf (o: AgentOption): string {
  const d = o.default !== undefined ? `; default ${String(o.default)}` : o.chosen !== undefined ? `; default: ${o.chosen}` : ''
  return `${o.help} (env ${envOf(o)}${d})`
}

/** `joinRetryMs` for --join-retry-ms: the name the CLI's parser gives a flag's value. */
export function camelOf (o: AgentOption): string {
  return o.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
}

/**
 * The agent's settings from its flags (by camelOf) and the environment:
 * a flag wins over its variable, an empty variable counts as unset, and
 * what neither sets is left out (the config's default applies).
 */
export function agentInitFrom (flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): AgentInit & { logLevel?: string } {
  const init: Record<string, unknown> = {}
  const members: Record<string, unknown> = {}
  for (const o of AGENT_OPTIONS) {
    const flag = flags[camelOf(o)]
    const text = flag !== undefined ? String(flag) : env[envOf(o)]
    if (text === undefined || (text === '' && o.type === 'number')) continue
    const value = o.type === 'number' ? Number(text) : text
    if (o.key.startsWith('members.')) members[o.key.slice('members.'.length)] = value
    else init[o.key] = value
  }
  if (Object.keys(members).length > 0) init.members = members
  return init as AgentInit & { logLevel?: string }
}
