import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { open } from '../../http.ts'
import { resourcePath } from '../../kube.ts'
import { ServerError, statusOf } from '../../api.ts'

/**
 * Watch one object: the API's newline-delimited events
 * (`?watch=true&fieldSelector=metadata.name=NAME`), reopened from the last
 * resourceVersion when the server ends a watch (timeoutSeconds), and from
 * scratch after a 410 Gone. The first open has no resourceVersion, so the
 * server starts with the object as it is now (an ADDED event).
 */

type Rec = Record<string, unknown>

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'
  readonly object: Rec
}

/** How long one watch request stays open, s; the server closes it and we reopen. */
const WATCH_SECONDS = 300

/** A watch that ends within this long of opening is reopened only after RETRY_MS, ms: a server that keeps ending it at once is not hammered. */
const QUICK_END_MS = 1000
const RETRY_MS = 500

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export async function * watchObject (target: Target, k: KindInfo, namespace: string | undefined, name: string, signal: AbortSignal): AsyncGenerator<WatchEvent> {
  let resourceVersion: string | undefined
  while (!signal.aborted) {
    const query = new URLSearchParams({ watch: 'true', fieldSelector: `metadata.name=${name}`, timeoutSeconds: String(WATCH_SECONDS) })
    if (resourceVersion !== undefined) query.set('resourceVersion', resourceVersion)
    const opened = Date.now()
    let res
    try {
      res = await open(target.endpoint, 'GET', `${resourcePath(k, namespace)}?${query}`, { headers: { accept: 'application/json' }, timeoutMs: (WATCH_SECONDS + 30) * 1000, signal })
    } catch (err) {
      if (signal.aborted) return
      throw new CliError((err as Error).message)
    }
    res.setEncoding('utf8')
    try {
      if (res.statusCode !== 200) {
        let text = ''
        for await (const chunk of res) text += chunk as string
        throw new ServerError(res.statusCode ?? 0, statusOf(res.statusCode ?? 0, text))
      }
      let buffered = ''
      reading: for await (const chunk of res) {
        buffered += chunk as string
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line === '') continue
          const event = JSON.parse(line) as { type: string, object: Rec & { code?: number, metadata?: { resourceVersion?: string } } }
          if (event.type === 'ERROR') {
            // 410: our resourceVersion is older than the server's history; start over from the object as it is.
            if (event.object.code === 410) {
              resourceVersion = undefined
              break reading
            }
            throw new ServerError(event.object.code ?? 500, event.object)
          }
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion
          if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') yield { type: event.type, object: event.object }
        }
      }
    } catch (err) {
      if (signal.aborted) return
      if (err instanceof ServerError || err instanceof SyntaxError) throw err
      throw new CliError(`the watch of ${name} broke off: ${(err as Error).message}`)
    } finally {
      res.destroy()
    }
    if (Date.now() - opened < QUICK_END_MS) await pause(RETRY_MS, signal)
  }
}
