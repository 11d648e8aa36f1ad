import { CliError } from '../../client.ts'

/**
 * Checks of the write commands' flag values, done before anything is sent so
 * a typo never reaches the cluster. cac (through mri) hands a flag over as a
 * string, a number (`--replicas=3`), `true` (the flag without a value) or an
 * array (the flag given twice); every helper here accepts all of those and
 * names the flag in its one-line error.
 */

/** The text of a flag that takes a value; undefined when absent. `--image` alone is an error. */
export function textFlag (value: unknown, flag: string): string | undefined {
  if (value === undefined || value === false) return undefined
  if (Array.isArray(value)) {
    if (value.length > 1) throw new CliError(`${flag} may be given only once`)
    return textFlag(value[0], flag)
  }
  if (value === true || String(value) === '') throw new CliError(`flag needs an argument: ${flag}`)
  return String(value)
}

/** Every value of a flag that may repeat (`-f a.yaml -f b.yaml`, `--image a --image b`). */
export function listFlag (value: unknown, flag: string): string[] {
  if (value === undefined || value === false) return []
  const values = Array.isArray(value) ? value : [value]
  return values.map(v => {
    if (v === true || String(v) === '') throw new CliError(`flag needs an argument: ${flag}`)
    return String(v)
  })
}

/** A boolean flag: `--watch`, `--watch=false`, or its default. */
export function boolFlag (value: unknown, flag: string, byDefault: boolean): boolean {
  if (value === undefined) return byDefault
  const v = Array.isArray(value) ? value[value.length - 1] : value
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  throw new CliError(`invalid argument ${JSON.stringify(String(v))} for "${flag}" flag: must be true or false`)
}

/** The server's `fieldValidation` for unknown fields in a manifest. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore'

/** `--validate`: strict (or true, or the flag alone; the default), warn, or ignore (or false), as kubectl takes it. */
export function validateFlag (value: unknown): FieldValidation {
  if (value === undefined) return 'Strict'
  const v = Array.isArray(value) ? value[value.length - 1] : value
  const text = v === true ? 'true' : v === false ? 'false' : String(v).toLowerCase()
  if (text === 'strict' || text === 'true') return 'Strict'
  if (text === 'warn') return 'Warn'
  if (text === 'ignore' || text === 'false') return 'Ignore'
  throw new CliError(`invalid - validate option ${JSON.stringify(String(v))}; must be one of: strict (or true), warn, ignore (or false)`)
}

/** A replica count: a whole number >= 0 (`--replicas=3`). */
export function countFlag (value: unknown, flag: string): number | undefined {
  const text = textFlag(value, flag)
  if (text === undefined) return undefined
  if (!/^-?\d+$/.test(text.trim())) throw new CliError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: must be a whole number`)
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: must be greater than or equal to 0`)
  return n
}

/** A TCP/UDP port number, 1-65535 (`--port=80`). */
export function portFlag (value: unknown, flag: string): number | undefined {
  const text = textFlag(value, flag)
  if (text === undefined) return undefined
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CliError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: must be a port number between 1 and 65535`)
  }
  return n
}

/** A Service targetPort: a port number, or the name of a container port (`http`). */
export function targetPortFlag (value: unknown, flag: string): number | string | undefined {
  const text = textFlag(value, flag)
  if (text === undefined) return undefined
  if (/^\d+$/.test(text)) return portFlag(text, flag)
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(text) || text.length > 15 || !/[a-z]/.test(text)) {
    throw new CliError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: must be a port number or a port name (at most 15 lower-case letters, digits and '-')`)
  }
  return text
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A Go duration as kubectl's `--timeout` takes it (`30s`, `2m`, `1h30m`,
 * `500ms`, `0`), in milliseconds. 0 means no limit.
 */
export function durationFlag (value: unknown, flag: string): number | undefined {
  const text = textFlag(value, flag)
  if (text === undefined) return undefined
  if (text === '0') return 0
  const bad = (): CliError => new CliError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: must be a duration such as 30s, 2m or 1h30m`)
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map(p => p[0]).join('') !== text) throw bad()
  let ms = 0
  for (const p of parts) ms += Number(p[1]) * (DURATION_UNITS[p[2]!] ?? 0)
  return Math.ceil(ms)
}
