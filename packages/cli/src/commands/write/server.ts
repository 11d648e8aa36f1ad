import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { closeConnections, describeEndpoint, send } from '../../http.ts'

/**
 * Requests of the write commands and the way their failures print. The
 * shared `call` keeps only a failure's message; kubectl prints the Status
 * reason too (`Error from server (NotFound): …`) and treats a 422 apart, so
 * these commands keep the whole Status.
 */

/** The parts of a Kubernetes Status body the CLI prints. */
export interface StatusBody {
  readonly message?: string
  readonly reason?: string
  readonly code?: number
  readonly details?: { readonly name?: string, readonly kind?: string, readonly causes?: ReadonlyArray<{ readonly field?: string, readonly message?: string }> }
}

/** A request the server refused, with its Status. */
export class ServerError extends Error {
  readonly code: number
  readonly reason: string
  readonly status: StatusBody
  constructor (code: number, status: StatusBody) {
    super(status.message ?? `the server answered ${code}`)
    this.name = 'ServerError'
    this.code = code
    this.reason = status.reason ?? reasonOf(code)
    this.status = status
  }
}

/** A command that already printed why it failed (per object), and exits 1. */
export class ReportedFailure extends Error {}

/** kubectl's reason for a bare HTTP code (a body that is not a Status). */
function reasonOf (code: number): string {
  const reasons: Record<number, string> = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Gone', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' }
  return reasons[code] ?? 'Unknown'
}

/** The Status of a failed answer; a non-JSON body becomes its message. */
export function statusOf (code: number, text: string): StatusBody {
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status') return parsed as StatusBody
  } catch {}
  const trimmed = text.trim()
  return { code, reason: reasonOf(code), message: trimmed !== '' ? trimmed : code === 404 ? 'the server could not find the requested resource' : `the server answered ${code}` }
}

/**
 * One JSON request to the target's API. `contentType` names the patch flavour
 * for PATCH. A refusal throws a ServerError carrying the Status.
 */
export async function kubeRequest<T = unknown> (target: Target, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  let answer
  try {
    answer = await send(target.endpoint, method, path, {
      headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': contentType } : {}) },
      ...(payload !== undefined ? { body: payload } : {})
    })
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  printWarnings(answer.headers.warning)
  if (answer.status === 401) throw new CliError(`${describeEndpoint(target.endpoint)} refused the request: Unauthorized (the token is missing or not this cluster's)`)
  if (answer.status >= 400) throw new ServerError(answer.status, statusOf(answer.status, answer.text))
  try {
    return JSON.parse(answer.text) as T
  } catch {
    throw new CliError(`${describeEndpoint(target.endpoint)} answered ${method} ${path} with something that is not JSON: ${answer.text.slice(0, 80)}`)
  }
}

/**
 * The server's `Warning` headers (`299 - "text"`, several joined by commas),
 * each as kubectl prints it: `Warning: text` on stderr.
 */
export function printWarnings (header: string | string[] | undefined): void {
  for (const text of warningTexts(header)) process.stderr.write(`Warning: ${text}\n`)
}

export function warningTexts (header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(', ') : header ?? ''
  return [...joined.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map(m => m[1]!.replace(/\\(.)/g, '$1'))
}

/** `deployment.apps/web`, `service/web`: how kubectl names an object it changed. */
export function objectRef (k: KindInfo, name: string): string {
  return `${k.singular}${k.group === '' ? '' : `.${k.group}`}/${name}`
}

/** `deployment.apps "web"`: how kubectl names an object it deleted. */
export function quotedRef (k: KindInfo, name: string): string {
  return `${k.singular}${k.group === '' ? '' : `.${k.group}`} ${JSON.stringify(name)}`
}

/**
 * A failure as the one line kubectl prints: `Error from server (NotFound):
 * deployments.apps "x" not found`, a 422 as `The Deployment "x" is invalid:
 * spec.replicas: …`, anything else as `error: …`. `context` is what kubectl
 * puts before a server message for file-driven commands (`error when
 * creating "app.yaml": `).
 */
export function failureLine (err: unknown, context = ''): string {
  if (err instanceof ServerError) {
    const d = err.status.details
    if (err.code === 422 && err.reason === 'Invalid' && d?.kind !== undefined && d.name !== undefined && (d.causes?.length ?? 0) > 0) {
      const causes = [...new Set((d.causes ?? []).map(c => c.field !== undefined && c.field !== '' ? `${c.field}: ${c.message ?? ''}` : c.message ?? ''))]
      return `The ${d.kind} ${JSON.stringify(d.name)} is invalid: ${causes.length === 1 ? causes[0] : `[${causes.join(', ')}]`}`
    }
    return `Error from server (${err.reason}): ${context}${oneLine(err.message)}`
  }
  return `error: ${oneLine(err instanceof Error ? err.message : String(err))}`
}

function oneLine (s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim()
}

/**
 * Run a command body: a refusal prints as one line and exits 1; what is not a
 * server's or the CLI's known failure goes on to main, which prints it too.
 * Pooled keep-alive connections are closed so the process ends at once.
 */
export async function runReporting (body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (err) {
    if (err instanceof ReportedFailure) process.exitCode = 1
    else if (err instanceof ServerError || err instanceof CliError) {
      process.stderr.write(`${failureLine(err)}\n`)
      process.exitCode = 1
    } else throw err
  } finally {
    closeConnections()
  }
}
