export * from './kv.ts'
