// jest 27's node environment predates Node's global fetch; the tests of the local tools call their servers with it.
// The destination's own tests run in the plain environment, as in the monorepo.
const NodeEnvironment = require('jest-environment-node')

class NodeWithFetch extends NodeEnvironment {
  constructor(config, context) {
    super(config, context)
    for (const name of [
      'fetch',
      'Headers',
      'Request',
      'Response',
      'FormData',
      'Blob',
      'AbortSignal',
      'structuredClone'
    ]) {
      if (this.global[name] === undefined && globalThis[name] !== undefined) this.global[name] = globalThis[name]
    }
  }
}

module.exports = NodeWithFetch
