import type Docker from 'dockerode'
import type { Logger } from '@shoal/core/logger.ts'
import type { ContainerRuntime } from './runtime.ts'

/**
 * Docker's event stream for this node's containers (start, die, oom,
 * destroy), opened at the first subscription and reopened, from where it
 * broke, whenever it ends.
 */
export function createEventWatch (docker: Docker, nodeFilter: string, log: Logger, cfg: { eventsRetryMinMs: number, eventsRetryMaxMs: number }): { subscribe: ContainerRuntime['onChange'], close: () => Promise<void> } {
  const listeners = new Set<(id: string) => void>()
  let controller: AbortController | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let retryMs = cfg.eventsRetryMinMs
  let since = Math.floor(Date.now() / 1000)
  let closed = false
  let watching = false

  const emit = (id: string): void => {
    for (const listener of [...listeners]) {
      try {
        listener(id)
      } catch (err) {
        log.error({ err }, 'container change listener threw')
      }
    }
  }

  const reconnect = (why: unknown): void => {
    if (closed) return
    log.warn({ err: (why as Error | undefined)?.message ?? String(why), retryMs }, 'docker event stream broke; reconnecting')
    retryTimer = setTimeout(connect, retryMs)
    retryTimer.unref()
    retryMs = Math.min(retryMs * 2, cfg.eventsRetryMaxMs)
  }

  function connect (): void {
    if (closed) return
    controller = new AbortController()
    const signal = controller.signal
    docker.getEvents({
      since,
      filters: { type: ['container'], label: [nodeFilter], event: ['start', 'die', 'oom', 'destroy'] },
      abortSignal: signal
    } as Docker.GetEventsOptions).then(stream => {
      retryMs = cfg.eventsRetryMinMs
      let buffered = ''
      let failed = false
      const fail = (why: unknown): void => {
        if (failed || signal.aborted) return
        failed = true
        reconnect(why)
      }
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line === '') continue
          try {
            const event = JSON.parse(line) as { id?: string, time?: number, Actor?: { ID?: string } }
            if (event.time !== undefined) since = Math.max(since, event.time)
            const id = event.Actor?.ID ?? event.id
            if (id !== undefined) emit(id)
          } catch (err) {
            log.debug({ err, line }, 'unreadable docker event')
          }
        }
      })
      stream.on('error', fail)
      stream.on('end', () => fail(new Error('event stream ended')))
      stream.on('close', () => fail(new Error('event stream closed')))
    }, (err: unknown) => {
      if (!signal.aborted) reconnect(err)
    })
  }

  return {
    subscribe: listener => {
      listeners.add(listener)
      if (!watching && !closed) {
        watching = true
        connect()
      }
      return () => { listeners.delete(listener) }
    },
    close: async () => {
      closed = true
      clearTimeout(retryTimer)
      controller?.abort()
      listeners.clear()
    }
  }
}
