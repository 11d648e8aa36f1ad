import type { IncomingMessage } from 'node:http'
import { CliError, describeEndpoint, messageOf, type Target } from '../../client.ts'
import { open, send } from '../../http.ts'

/**
 * How the read commands talk to an agent. Unlike `call` in client.ts, a
 * refusal keeps the Status `reason`, so the CLI can print it the way kubectl
 * does: `Error from server (NotFound): pods "x" not found`.
 */

/** What kubectl sends on every get: a server-side printed Table, or the plain object as a fallback. */
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'

/** Longest a watch or a followed log stays open: as long as the user wants (setTimeout's ceiling). */
const FOREVER_MS = 2_147_483_647

/** A Kubernetes Status refusal from the server. */
export class ServerError extends CliError {
  readonly reason: string
  readonly code: number
  constructor (reason: string, code: number, message: string) {
    super(message)
    this.reason = reason
    this.code = code
  }

  /** The one line kubectl prints for it. */
  get line (): string {
    return `Error from server (${this.reason}): ${this.message}`
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 422: 'Invalid', 500: 'InternalError', 503: 'ServiceUnavailable'
}

/** The ServerError of a Status body, or of a bare HTTP code and text. */
export function statusError (code: number, body: unknown): ServerError {
  const s = typeof body === 'object' && body !== null ? body as { reason?: unknown, code?: unknown, message?: unknown } : undefined
  const status = typeof s?.code === 'number' ? s.code : code
  const reason = typeof s?.reason === 'string' && s.reason !== '' ? s.reason : REASONS[status] ?? 'Unknown'
  const message = typeof s?.message === 'string' ? s.message : typeof body === 'string' && body.trim() !== '' ? messageOf(body) : `the server answered HTTP ${status}`
  return new ServerError(reason, status, message)
}

export function isNotFound (err: unknown): boolean {
  return err instanceof ServerError && err.code === 404
}

/** The error of a refusal: 401 as the token's problem, else the Status the server sent. */
export function refused (target: Target, status: number, text: string): CliError {
  if (status === 401) return new CliError(`${describeEndpoint(target.endpoint)} refused the request: Unauthorized (the token is missing or not this cluster's)`)
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return statusError(status, body)
}

/** `path?k=v&…`, leaving out the parameters that are undefined or empty. */
export function withQuery (path: string, params: Readonly<Record<string, string | undefined>>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v)
  const s = q.toString()
  return s === '' ? path : `${path}?${s}`
}

/** GET a JSON document. */
export async function getJson<T> (target: Target, path: string, accept = 'application/json'): Promise<T> {
  let answer
  try {
    answer = await send(target.endpoint, 'GET', path, { headers: { accept } })
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  if (answer.status >= 400) throw refused(target, answer.status, answer.text)
  try {
    return JSON.parse(answer.text) as T
  } catch {
    throw new CliError(`${describeEndpoint(target.endpoint)} answered GET ${path} with something that is not JSON`)
  }
}

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
  const status = res.statusCode ?? 0
  if (status < 400) return res
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  throw refused(target, status, Buffer.concat(chunks).toString('utf8'))
}

/** The line a failure prints: kubectl's for a server refusal, `error: …` for the rest. */
export function errorLine (err: unknown): string {
  if (err instanceof ServerError) return err.line
  return `error: ${err instanceof Error ? err.message : String(err)}`
}

/**
 * Wrap a read command's action: a server refusal prints as kubectl prints it
 * (one line, exit code 1); any other failure goes on to main's handler.
 */
export function readAction<A extends unknown[]> (fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (err) {
      if (!(err instanceof ServerError)) throw err
      process.stderr.write(err.line + '\n')
      process.exit(1)
    }
  }
}

/** Print the failures that did not stop a command (one missing name of several), and make it exit 1. */
export function reportErrors (errors: readonly unknown[]): void {
  for (const err of errors) process.stderr.write(errorLine(err) + '\n')
  if (errors.length > 0) process.exitCode = 1
}
