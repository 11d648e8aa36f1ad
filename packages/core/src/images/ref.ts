/**
 * Image references, checked the way Docker's reference grammar
 * (distribution/reference) does, before anything is sent to the engine:
 *   [domain[:port]/]path-component[/path-component...][:tag][@digest]
 */

const alphanumeric = '[a-z0-9]+'
const separator = '(?:[._]|__|[-]+)'
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`
const domainAndPort = `${host}(?::[0-9]+)?`
const name = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`
const tag = '[\\w][\\w.-]{0,127}'
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const REFERENCE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`)
const MAX_NAME_LENGTH = 255

export interface ImageRef {
  readonly name: string
  readonly tag?: string
  readonly digest?: string
}

/** The parts of a valid reference, or a Kubernetes-style message saying why it is not one. */
export function parseImageRef (image: string): ImageRef | { invalid: string } {
  const m = REFERENCE.exec(image)
  if (m === null || (m[1] ?? '').length > MAX_NAME_LENGTH) {
    const why = image !== image.toLowerCase() && REFERENCE.test(image.toLowerCase())
      ? 'invalid reference format: repository name must be lowercase'
      : 'invalid reference format'
    return { invalid: `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": ${why}` }
  }
  return { name: m[1] ?? '', tag: m[2], digest: m[3] }
}

/** The reference to pull and look up: `:latest` added when it names neither tag nor digest (Docker would pull every tag). */
export function withDefaultTag (ref: ImageRef): string {
  if (ref.digest !== undefined) return `${ref.name}${ref.tag !== undefined ? ':' + ref.tag : ''}@${ref.digest}`
  return `${ref.name}:${ref.tag ?? 'latest'}`
}
