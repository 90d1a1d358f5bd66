import type { Command } from 'commander'
import * as path from 'path'
import destination from '../../destinations/koala-cloud'
import { writeTypeFiles } from '../generate-types'
import { DESTINATION_DIR } from '../paths'

/** `generate:types`: regenerates every `generated-types.ts` from the field definitions. */
export default function register(program: Command): void {
  program
    .command('generate:types')
    .description('Generate generated-types.ts from the field definitions (as actions-cli does)')
    .action(async () => {
      const changed = await writeTypeFiles(destination as never, DESTINATION_DIR)
      console.log(
        changed.length
          ? `Updated:\n${changed.map((file) => `  ${path.relative(process.cwd(), file)}`).join('\n')}`
          : 'Types are up to date.'
      )
    })
}
