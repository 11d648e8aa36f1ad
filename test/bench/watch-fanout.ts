import { request as httpsRequest } from 'node:https'
import type { ClientRequest } from 'node:http'
import type { Endpoint } from '@shoal/cli/http.ts'

/**
 * The watcher side of the API benchmark's fan-out part: one HTTPS connection
 * per watcher (no pooling, so 100 watchers really are 100 streams the agent
 * writes to), reading `?watch=true` newline-delimited events and stamping
 * each with the time this process saw it. Kept apart from the bench so that
 * the stamping stays short: the receipt time is taken before anything else
 * is done with the line.
 */

/** One event as a watcher received it: the pod's name and resourceVersion, and performance.now() on arrival. */
export interface Received { readonly name: string, readonly rv: number, readonly at: number }

export interface Watcher {
  /** Events of pods whose name starts with the watch's prefix, in arrival order. */
  readonly events: readonly Received[]
  /** Set when the stream failed or ended before `close()`. */
  readonly failure: string | undefined
  has: (name: string) => boolean
  close: () => void
}

/**
 * Open `GET path?watch=true&resourceVersion=rv` on `e` with its own
 * connection. Events of other pods (and BOOKMARKs) are skipped; an ERROR
 * event, a broken line or the stream's end is kept as the watcher's failure.
 */
export function openWatcher (e: Endpoint, path: string, rv: string, prefix: string): Watcher {
  if (e.kind !== 'tcp') throw new Error('the watch bench needs a TCP endpoint')
  const events: Received[] = []
  const seen = new Set<string>()
  let failure: string | undefined
  let closed = false
  let partial = ''
  const onLine = (line: string, at: number): void => {
    if (line === '') return
    let ev: { type?: string, object?: { metadata?: { name?: string, resourceVersion?: string }, message?: string } }
    try { ev = JSON.parse(line) } catch { failure ??= `unparsable line: ${line.slice(0, 80)}`; return }
    if (ev.type === 'ERROR') { failure ??= `ERROR event: ${ev.object?.message ?? line.slice(0, 120)}`; return }
    const name = ev.object?.metadata?.name ?? ''
    if (!name.startsWith(prefix)) return
    events.push({ name, rv: Number(ev.object?.metadata?.resourceVersion), at })
    seen.add(name)
  }
  const req: ClientRequest = httpsRequest({
    host: e.host,
    port: e.port,
    method: 'GET',
    path: `${path}?watch=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=600`,
    agent: false,
    ...(e.ca !== undefined ? { ca: e.ca } : {}),
    headers: { accept: 'application/json', ...(e.token !== undefined ? { authorization: `Bearer ${e.token}` } : {}) }
  }, res => {
    if (res.statusCode !== 200) failure ??= `HTTP ${res.statusCode}`
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      const at = performance.now()
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) onLine(line, at)
    })
    res.on('end', () => { if (!closed) failure ??= 'the stream ended' })
    res.on('error', (err: Error) => { if (!closed) failure ??= err.message })
  })
  req.on('error', (err: Error) => { if (!closed) failure ??= err.message })
  req.end()
  return {
    events,
    get failure () { return failure },
    has: name => seen.has(name),
    close () {
      closed = true
      req.destroy()
    }
  }
}
