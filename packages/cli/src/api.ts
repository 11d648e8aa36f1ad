import type { IncomingMessage } from 'node:http'
import { CliError, type Target } from './client.ts'
import { closeConnections, describeEndpoint, open, send, type Endpoint } from './http.ts'

/**
 * The one way the CLI talks to an agent's API, and the one way a command's
 * failure prints: a refusal keeps the server's Status, so it prints as
 * kubectl prints it (`Error from server (NotFound): pods "x" not found`,
 * a 422 as `The Deployment "x" is invalid: …`), and every command runs in
 * `runCommand`, which prints the failure and sets the exit code.
 */

/** The parts of a Kubernetes Status body the CLI prints. */
export interface StatusBody {
  readonly message?: string
  readonly reason?: string
  readonly code?: number
  readonly details?: { readonly name?: string, readonly kind?: string, readonly causes?: ReadonlyArray<{ readonly field?: string, readonly message?: string }> }
}

/** A request the server refused, with its Status. */
export class ServerError extends CliError {
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

/**
 * The reason for an HTTP code whose body is not a Status, as Kubernetes names
 * it (a Status the server sends keeps its own: a watch's 410 says Expired).
 */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Gone', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout'
}

function reasonOf (code: number): string {
  return REASONS[code] ?? 'Unknown'
}

/** The Status of a failed answer: the body's when it is one, else one made of the code and the text. */
export function statusOf (code: number, text: string): StatusBody {
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && ((parsed as { kind?: unknown }).kind === 'Status' || typeof (parsed as { message?: unknown }).message === 'string')) return parsed as StatusBody
  } catch {}
  const trimmed = text.trim()
  return { code, reason: reasonOf(code), message: trimmed !== '' ? trimmed : code === 404 ? 'the server could not find the requested resource' : `the server answered ${code}` }
}

/** What a 401 means to the user: the token. */
export function unauthorized (e: Endpoint): CliError {
  return new CliError(`${describeEndpoint(e)} refused the request: Unauthorized (the token is missing or not this cluster's)`)
}

/** The error of a refused answer. */
export function refusal (e: Endpoint, code: number, text: string): CliError {
  return code === 401 ? unauthorized(e) : new ServerError(code, statusOf(code, text))
}

export function isNotFound (err: unknown): boolean {
  return err instanceof ServerError && err.code === 404
}

export interface ApiRequest {
  /** Sent as JSON (a string as it is). */
  readonly body?: unknown
  /** The body's type: a patch names its flavour here. */
  readonly contentType?: string | undefined
  readonly accept?: string | undefined
}

/**
 * One request to the target's API: the answer's JSON. A failure to connect
 * is a CliError, a refusal a ServerError with the server's Status; the
 * server's Warning headers print as kubectl prints them.
 */
export async function request<T = unknown> (target: Target | Endpoint, method: string, path: string, req: ApiRequest = {}): Promise<T> {
  const endpoint = 'endpoint' in target ? target.endpoint : target
  const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
  let answer
  try {
    answer = await send(endpoint, method, path, {
      headers: { accept: req.accept ?? 'application/json', ...(payload !== undefined ? { 'content-type': req.contentType ?? 'application/json' } : {}) },
      ...(payload !== undefined ? { body: payload } : {})
    })
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  printWarnings(answer.headers.warning)
  if (answer.status >= 400) throw refusal(endpoint, answer.status, answer.text)
  try {
    return JSON.parse(answer.text) as T
  } catch {
    throw new CliError(`${describeEndpoint(endpoint)} answered ${method} ${path} with something that is not JSON: ${answer.text.slice(0, 80)}`)
  }
}

/** What kubectl sends on every get: a server-side printed Table, or the plain object as a fallback. */
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'

/** GET a JSON document. */
export async function getJson<T> (target: Target, path: string, accept = 'application/json'): Promise<T> {
  return await request<T>(target, 'GET', path, { accept })
}

/** Longest a watch or a followed log stays open: as long as the user wants (setTimeout's ceiling). */
const FOREVER_MS = 2_147_483_647

/**
 * GET a stream (a watch, a log): resolves once the answer starts, and stays
 * open for as long as the server sends. A refusal is read whole and thrown.
 */
export async function openStream (target: Target, path: string, accept: string): Promise<IncomingMessage> {
  let res
  try {
    res = await open(target.endpoint, 'GET', path, { headers: { accept }, timeoutMs: FOREVER_MS })
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  const code = res.statusCode ?? 0
  if (code < 400) return res
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  throw refusal(target.endpoint, code, Buffer.concat(chunks).toString('utf8'))
}

/** `path?k=v&…`, leaving out the parameters that are undefined or empty. */
export function withQuery (path: string, params: Readonly<Record<string, string | undefined>>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v)
  const s = q.toString()
  return s === '' ? path : `${path}?${s}`
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

/** Print the failures that did not stop a command (one missing name of several), and make it exit 1. */
export function reportErrors (errors: readonly unknown[]): void {
  for (const err of errors) process.stderr.write(failureLine(err) + '\n')
  if (errors.length > 0) process.exitCode = 1
}

/**
 * Run a command: any failure prints as one line (failureLine; with
 * SHOAL_DEBUG set, the stack of one the CLI did not expect) and the command
 * exits 1. Pooled keep-alive connections are closed so the process ends at once.
 */
export async function runCommand (body: () => Promise<void>, expected: (err: unknown) => boolean = () => false): Promise<void> {
  try {
    await body()
  } catch (err) {
    process.exitCode = 1
    if (err instanceof ReportedFailure) return
    process.stderr.write(`${failureLine(err)}\n`)
    if (!(err instanceof CliError) && !expected(err) && process.env.SHOAL_DEBUG !== undefined) process.stderr.write(`${(err as Error).stack}\n`)
  } finally {
    closeConnections()
  }
}
