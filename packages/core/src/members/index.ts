export * from './types.ts'
export * from './config.ts'
export * from './table.ts'
export * from './wire.ts'
