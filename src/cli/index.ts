import { Command } from 'commander'
import * as fs from 'fs'
import * as path from 'path'
import { PROJECT_ROOT } from '../lib/paths'
import generateMetadata from './commands/generate-metadata'
import generateTypes from './commands/generate-types'
import sandbox from './commands/sandbox'
import serve from './commands/serve'
import start from './commands/start'
import validate from './commands/validate'

/**
 * `./bin/run`: the project's command line. Command names follow actions-cli (`serve`, `generate:types`,
 * `validate`, `generate:metadata`) so a partner's habits from the monorepo work here; `sandbox` and `start` are
 * this project's own. Each command lives in `commands/` and registers itself on the program.
 */
export function buildProgram(): Command {
  // The version of these tools: the package's (the destination's folder names no version).
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
  const program = new Command()
  program.name('run').description('Koala (Cloud) destination tools (actions-cli compatible)').version(pkg.version)
  for (const register of [serve, sandbox, start, generateTypes, validate, generateMetadata]) register(program)
  return program
}
