// The one waitFor of every test: core's, so that the packages' own tests use it too.
export { waitFor } from '@shoal/core/testing/wait.ts'
