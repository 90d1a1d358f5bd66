import { Command } from 'commander'
import { DESTINATION_VERSION } from '../destinations/koala-cloud/config'
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
  const program = new Command()
  program
    .name('run')
    .description('Koala (Cloud) destination tools (actions-cli compatible)')
    .version(DESTINATION_VERSION)
  for (const register of [serve, sandbox, start, generateTypes, validate, generateMetadata]) register(program)
  return program
}
