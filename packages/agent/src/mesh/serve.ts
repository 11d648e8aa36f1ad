import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { MeshNode } from './mesh.ts'

export interface ProtocolServer {
  /** Abort every stream being served, and stop taking new ones. */
  stop: () => Promise<void>
}

/**
 * Serve `protocol` on the mesh: each inbound stream goes to `serve` with an
 * AbortController of its own, aborted when the agent stops and once the
 * stream was served (so what `serve` started with its signal ends with it).
 * A stream whose `serve` throws is aborted with the error, after `failed`
 * is told (to log it; `aborted` says whether the controller had aborted:
 * the agent stopping, or `serve` giving up on a peer that went away).
 */
export async function serveProtocol (
  node: MeshNode,
  protocol: string,
  serve: (stream: Stream, connection: Connection, ac: AbortController) => Promise<void>,
  failed: (err: Error, aborted: boolean, connection: Connection) => void,
  options: StreamHandlerOptions
): Promise<ProtocolServer> {
  const active = new Set<AbortController>()
  await node.handle(protocol, async (stream, connection) => {
    const ac = new AbortController()
    active.add(ac)
    try {
      await serve(stream, connection, ac)
    } catch (thrown) {
      const err = thrown instanceof Error ? thrown : new Error(String(thrown))
      failed(err, ac.signal.aborted, connection)
      stream.abort(err)
    } finally {
      ac.abort(new Error(`the ${protocol} stream was served`))
      active.delete(ac)
    }
  }, options)
  return {
    async stop () {
      for (const ac of active) ac.abort(new Error('the agent is stopping'))
      await node.unhandle(protocol).catch(() => {})
    }
  }
}
