import { startAgent, createRootLogger, resolveAgentConfig } from '@shoal/agent'
import { agentInitFrom } from '@shoal/agent/options.ts'

/** `shoal agent`: run the agent in this process until SIGTERM/SIGINT or `shoal leave`. */
export async function runAgent (flags: Readonly<Record<string, unknown>>): Promise<void> {
  const { logLevel, ...init } = agentInitFrom(flags, process.env)
  const config = resolveAgentConfig(init)
  const log = createRootLogger({ ...(logLevel !== undefined ? { level: logLevel } : {}), name: config.name })
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
