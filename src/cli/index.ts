import { Command } from 'commander'
import * as path from 'path'
import destination from '../destinations/koala-cloud'
import { DESTINATION_VERSION } from '../destinations/koala-cloud/config'
import { writeTypeFiles } from './generate-types'

/** The destination's folder in the source tree, whether this runs from `src/` (ts-jest) or `dist/src/` (built). */
export const DESTINATION_DIR = path.resolve(
  __dirname,
  '../../',
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '.',
  'src/destinations/koala-cloud'
)

/**
 * `./bin/run`: the actions-cli compatible command line of this project. Commands keep actions-cli's names so a
 * partner's muscle memory works here.
 */
export function buildProgram(): Command {
  const program = new Command()
  program
    .name('run')
    .description('Koala (Cloud) destination tools (actions-cli compatible)')
    .version(DESTINATION_VERSION)

  program
    .command('generate:types')
    .description('Generate generated-types.ts from the field definitions (as actions-cli does)')
    .action(async () => {
      const changed = await writeTypeFiles(destination as never, DESTINATION_DIR)
      console.log(
        changed.length
          ? `Updated:\n${changed.map((f) => `  ${path.relative(process.cwd(), f)}`).join('\n')}`
          : 'Types are up to date.'
      )
    })

  return program
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(error.message)
      process.exitCode = 1
    })
}
