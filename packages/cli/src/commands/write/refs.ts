import type { KindInfo } from '@shoal/core/api/index.ts'

/** `deployment.apps/web`, `service/web`: how kubectl names an object it changed. */
export function objectRef (k: KindInfo, name: string): string {
  return `${k.singular}${k.group === '' ? '' : `.${k.group}`}/${name}`
}

/** `deployment.apps "web"`: how kubectl names an object it deleted. */
export function quotedRef (k: KindInfo, name: string): string {
  return `${k.singular}${k.group === '' ? '' : `.${k.group}`} ${JSON.stringify(name)}`
}
