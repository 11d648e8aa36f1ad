export * from './errors.ts'
export * from './logger.ts'
export * from './members/index.ts'
export * from './store/index.ts'
