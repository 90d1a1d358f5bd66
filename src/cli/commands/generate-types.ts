import { Option } from 'commander'
import type { Command } from 'commander'
import * as path from 'path'
import { staleTypeFiles, watchTypes, writeTypeFiles } from '../lib/types-generator'
import { loadDestination, resolveEntry } from '../lib/destination-loader'
import { DESTINATION_DIR } from '../../lib/paths'

interface Options {
  path: string
  watch?: boolean
  check?: boolean
}

const relative = (file: string) => path.relative(process.cwd(), file)

/**
 * `generate:types`: regenerates every `generated-types.ts` from the field definitions, read from the TypeScript
 * source (no build needed). `--check` only reports stale files (exit code 1); `--watch` keeps regenerating.
 */
export default function register(program: Command): void {
  program
    .command('generate:types')
    .description(
      'Generate generated-types.ts (Settings and each action Payload) from the field definitions, as actions-cli does'
    )
    .addOption(
      new Option('-p, --path <folder>', 'destination folder or its index.ts').default(
        DESTINATION_DIR,
        'src/destinations/koala-cloud'
      )
    )
    .option('-w, --watch', 'keep running and regenerate whenever a source file in the destination folder changes')
    .option('--check', 'write nothing; exit with code 1 and list the files that are out of date')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ ./bin/run generate:types',
        '  $ ./bin/run generate:types --watch',
        '  $ ./bin/run generate:types --check',
        '',
        '--watch uses fs.watch on the destination folder (recursive), waits 200 ms after the last change, and ignores',
        'generated-types.ts, *.types.ts, metadata.json, __tests__/ and __snapshots__/. Stop it with Ctrl-C.'
      ].join('\n')
    )
    .action(async (options: Options) => {
      const folder = path.dirname(resolveEntry(options.path))
      if (options.check) {
        const stale = await staleTypeFiles(loadDestination(folder), folder)
        if (stale.length) {
          console.error(
            `Out of date (run ./bin/run generate:types):\n${stale.map((file) => `  ${relative(file)}`).join('\n')}`
          )
          process.exitCode = 1
        } else {
          console.log('Types are up to date.')
        }
        return
      }
      const changed = await writeTypeFiles(loadDestination(folder), folder)
      console.log(
        changed.length
          ? `Updated:\n${changed.map((file) => `  ${relative(file)}`).join('\n')}`
          : 'Types are up to date.'
      )
      if (!options.watch) return
      watchTypes(folder, {
        load: loadDestination,
        onUpdate: (files) => {
          if (files.length) console.log(`Updated:\n${files.map((file) => `  ${relative(file)}`).join('\n')}`)
        },
        onError: (error) => console.error(`Could not generate types: ${error.message}`)
      })
      console.log(`Watching ${relative(folder) || '.'} for changes (Ctrl-C to stop)...`)
    })
}
