import { startAgent, createRootLogger, resolveAgentConfig, type AgentInit } from '@shoal/agent'

export interface AgentFlags {
  dataDir?: string
  name?: string
  bind?: string
  advertise?: string
  port?: number
  apiPort?: number
  join?: string
  token?: string
  joinRetryMs?: number
  heartbeatMs?: number
  suspectAfterMs?: number
  suspicionTimeoutMs?: number
  voters?: number
  clusterCidr?: string
  nodeCidrMaskSize?: number
  raftTickMs?: number
  voterGraceMs?: number
  backoffInitialMs?: number
  backoffMaxMs?: number
  dockerSocket?: string
  publishAddress?: string
  podNetwork?: string
  networkBackend?: string
  podEvictionTimeoutMs?: number
  controllers?: string
  logLevel?: string
}

/** Flags win over environment variables, which win over defaults. */
export function agentInitFrom (flags: AgentFlags, env: NodeJS.ProcessEnv): AgentInit {
  const str = (flag: unknown, name: string): string | undefined => flag !== undefined ? String(flag) : env[name]
  const num = (flag: unknown, name: string): number | undefined => {
    const v = str(flag, name)
    return v === undefined || v === '' ? undefined : Number(v)
  }
  const members = {
    heartbeatIntervalMs: num(flags.heartbeatMs, 'SHOAL_HEARTBEAT_MS'),
    suspectAfterMs: num(flags.suspectAfterMs, 'SHOAL_SUSPECT_AFTER_MS'),
    suspicionTimeoutMs: num(flags.suspicionTimeoutMs, 'SHOAL_SUSPICION_TIMEOUT_MS')
  }
  return dropUndefined({
    dataDir: str(flags.dataDir, 'SHOAL_DATA_DIR'),
    name: str(flags.name, 'SHOAL_NAME'),
    bind: str(flags.bind, 'SHOAL_BIND'),
    advertise: str(flags.advertise, 'SHOAL_ADVERTISE'),
    port: num(flags.port, 'SHOAL_PORT'),
    apiPort: num(flags.apiPort, 'SHOAL_API_PORT'),
    join: str(flags.join, 'SHOAL_JOIN'),
    token: str(flags.token, 'SHOAL_TOKEN'),
    joinRetryMs: num(flags.joinRetryMs, 'SHOAL_JOIN_RETRY_MS'),
    voters: num(flags.voters, 'SHOAL_VOTERS'),
    clusterCIDR: str(flags.clusterCidr, 'SHOAL_CLUSTER_CIDR'),
    nodeCIDRMaskSize: num(flags.nodeCidrMaskSize, 'SHOAL_NODE_CIDR_MASK_SIZE'),
    raftTickMs: num(flags.raftTickMs, 'SHOAL_RAFT_TICK_MS'),
    voterGraceMs: num(flags.voterGraceMs, 'SHOAL_VOTER_GRACE_MS'),
    backoffInitialMs: num(flags.backoffInitialMs, 'SHOAL_BACKOFF_INITIAL_MS'),
    backoffMaxMs: num(flags.backoffMaxMs, 'SHOAL_BACKOFF_MAX_MS'),
    dockerSocket: str(flags.dockerSocket, 'SHOAL_DOCKER_SOCKET'),
    publishAddress: str(flags.publishAddress, 'SHOAL_PUBLISH_ADDRESS'),
    podNetwork: str(flags.podNetwork, 'SHOAL_POD_NETWORK') as AgentInit['podNetwork'],
    networkBackend: str(flags.networkBackend, 'SHOAL_NETWORK_BACKEND') as AgentInit['networkBackend'],
    podEvictionTimeoutMs: num(flags.podEvictionTimeoutMs, 'SHOAL_POD_EVICTION_TIMEOUT_MS'),
    controllers: str(flags.controllers, 'SHOAL_CONTROLLERS'),
    members: dropUndefined(members)
  })
}

function dropUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** `shoal agent`: run the agent in this process until SIGTERM/SIGINT or `shoal leave`. */
export async function runAgent (flags: AgentFlags): Promise<void> {
  const config = resolveAgentConfig(agentInitFrom(flags, process.env))
  const log = createRootLogger({ level: str(flags.logLevel) ?? process.env.SHOAL_LOG_LEVEL, name: config.name })
  const agent = await startAgent(config, log)
  const onSignal = (signal: string): void => {
    log.info({ signal }, 'signal received, shutting down')
    agent.stop({ announce: true }).catch((err: Error) => log.error({ err: err.message }, 'shutdown failed'))
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  await agent.stopped
  log.flush()
  const failure = agent.failure()
  if (failure !== undefined) throw failure
}

function str (v: unknown): string | undefined {
  return v === undefined ? undefined : String(v)
}
