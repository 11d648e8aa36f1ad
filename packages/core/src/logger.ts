/**
 * The smallest logger core code needs. The agent passes a pino child; tests and
 * callers that do not care get `noopLogger`, so no code ever asks `if (log)`.
 */
export interface Logger {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

const noop = (): void => {}

export const noopLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })
