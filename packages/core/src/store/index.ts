export * from './types.ts'
export * from './store.ts'
export * from './selectors.ts'
export { applyMergePatch, isJsonEqual } from './merge-patch.ts'
