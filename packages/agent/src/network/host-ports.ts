import { connect, createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../log.ts'

/**
 * A pod's `hostPort`s on a node whose pods are on Shoal's pod network: a
 * listener on the node's address and the host port for each, piping every
 * connection to the pod's IP and container port, as Docker's own userland
 * port proxy does for its bridge. A port another process holds fails the
 * pod's sandbox with the reason, so the pod stays Pending with an event,
 * and nothing else changes. TCP only: a UDP hostPort is left out with a
 * warning.
 */

export interface HostPortMapping {
  readonly hostIP: string
  readonly hostPort: number
  readonly containerPort: number
  readonly protocol: 'TCP' | 'UDP'
}

export interface HostPorts {
  /** Listen for every TCP mapping of the pod at `podIP`; all of them, or none and a rejection naming the port. Open already: nothing. */
  open: (podIP: string, mappings: readonly HostPortMapping[]) => Promise<void>
  /** Stop listening for the pod at `podIP` (its connections in flight go on). */
  close: (podIP: string) => void
  closeAll: () => void
}

export function createHostPorts (log: Logger): HostPorts {
  const byPod = new Map<string, Server[]>()

  const listen = async (podIP: string, m: HostPortMapping): Promise<Server> => {
    const server = createServer(client => {
      const upstream: Socket = connect({ host: podIP, port: m.containerPort })
      upstream.setNoDelay(true)
      client.setNoDelay(true)
      client.pipe(upstream)
      upstream.pipe(client)
      const end = (): void => { client.destroy(); upstream.destroy() }
      client.on('error', end)
      upstream.on('error', end)
      client.on('close', () => upstream.end())
      upstream.on('close', () => client.end())
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message
        reject(new Error(`cannot listen on ${m.hostIP}:${m.hostPort} for host port ${m.hostPort}: ${why}`))
      })
      server.listen({ host: m.hostIP, port: m.hostPort, exclusive: true }, () => resolve())
    })
    server.on('error', err => log.warn({ podIP, hostPort: m.hostPort, err: err.message }, 'host port listener failed'))
    return server
  }

  return {
    async open (podIP, mappings) {
      if (byPod.has(podIP)) return
      const servers: Server[] = []
      try {
        for (const m of mappings) {
          if (m.protocol !== 'TCP') {
            log.warn({ podIP, hostPort: m.hostPort }, 'UDP host ports are not forwarded on the pod network')
            continue
          }
          servers.push(await listen(podIP, m))
        }
      } catch (err) {
        for (const s of servers) s.close()
        throw err
      }
      byPod.set(podIP, servers)
    },
    close (podIP) {
      for (const s of byPod.get(podIP) ?? []) s.close()
      byPod.delete(podIP)
    },
    closeAll () {
      for (const servers of byPod.values()) for (const s of servers) s.close()
      byPod.clear()
    }
  }
}
