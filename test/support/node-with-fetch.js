// jest 27's node environment predates Node's global fetch; the tests of the local tools call their servers with it.
// The destination's own tests run in the plain environment, as in the monorepo.
// Each test file also gets a journal folder of its own (KOALA_JOURNAL_DIR, removed after the file): the tools it
// starts, in process or spawned, never share the project's .koala-local/journal with a user's `npm start` or with
// another test file.
const fs = require('fs')
const os = require('os')
const path = require('path')
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
    this.journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-journal-'))
    this.global.process.env.KOALA_JOURNAL_DIR = this.journalDir
  }

  async teardown() {
    fs.rmSync(this.journalDir, { recursive: true, force: true })
    await super.teardown()
  }
}

module.exports = NodeWithFetch
