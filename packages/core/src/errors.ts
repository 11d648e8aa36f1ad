/**
 * Base of every error Shoal raises on purpose. `reason` is the stable identity
 * callers branch on (never the message text); `code` is the HTTP status the api
 * answers with when the error crosses it, as a Kubernetes `Status`.
 */
export class ShoalError extends Error {
  readonly reason: string
  readonly code: number

  constructor (reason: string, code: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ShoalError'
    this.reason = reason
    this.code = code
  }
}

/** A setting or an argument is malformed. Lists every problem found at once. */
export class InvalidConfigError extends ShoalError {
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super('Invalid', 422, problems.join('; '))
    this.name = 'InvalidConfigError'
    this.problems = problems
  }
}

export function assertNever (value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`)
}
