import { Option } from 'commander'
import type { Command } from 'commander'
import * as path from 'path'
import { loadDestination, resolveEntry } from '../lib/destination-loader'
import { isMetadataStale, metadataPath, writeMetadata } from '../lib/metadata'
import { DESTINATION_DIR } from '../../lib/paths'

interface Options {
  path: string
  check?: boolean
}

/**
 * `generate:metadata` (alias `generate:metadata-payload`, the monorepo's name): writes the destination's
 * `metadata.json` from its definition, read from the TypeScript source. `--check` only reports staleness.
 */
export default function register(program: Command): void {
  program
    .command('generate:metadata')
    .alias('generate:metadata-payload')
    .description(
      "Write metadata.json (slug, name, mode, authentication fields, actions with their fields and defaults, presets) into the destination's folder, in the monorepo's shape"
    )
    .addOption(
      new Option('-p, --path <folder>', 'destination folder or its index.ts').default(
        DESTINATION_DIR,
        'src/destinations/koala-cloud'
      )
    )
    .option('--check', 'write nothing; exit with code 1 when metadata.json is out of date')
    .addHelpText(
      'after',
      ['', 'Examples:', '  $ ./bin/run generate:metadata', '  $ ./bin/run generate:metadata --check'].join('\n')
    )
    .action((options: Options) => {
      const folder = path.dirname(resolveEntry(options.path))
      const file = path.relative(process.cwd(), metadataPath(folder))
      const definition = loadDestination(folder)
      if (options.check) {
        if (isMetadataStale(definition, folder)) {
          console.error(`Out of date (run ./bin/run generate:metadata): ${file}`)
          process.exitCode = 1
        } else {
          console.log(`${file} is up to date.`)
        }
        return
      }
      console.log(writeMetadata(definition, folder) ? `Updated: ${file}` : `${file} is up to date.`)
    })
}
