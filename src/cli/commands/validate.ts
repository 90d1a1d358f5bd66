import { Option } from 'commander'
import type { Command } from 'commander'
import { DESTINATION_DIR } from '../../lib/paths'
import { runValidate } from '../lib/run-validate'

interface Options {
  path: string
  events?: string
}

/** `validate`: statically checks the definition and runs its presets on real Segment events; exit code 1 on error. */
export default function register(program: Command): void {
  program
    .command('validate')
    .description(
      "Check the destination's definition as the monorepo's validator does, and more (presets, subscriptions, " +
        'defaults run on real Segment events, labels and descriptions, required defaults, secrets, slug and name)'
    )
    .addOption(
      new Option('-p, --path <folder>', 'destination folder or its index.ts').default(
        DESTINATION_DIR,
        'src/destinations/koala-cloud'
      )
    )
    .addOption(
      // No default value: a folder given here must hold events, while the default folder may fall back.
      new Option(
        '-e, --events <folder>',
        'folder of Segment events (*.ndjson, one per line, or *.json arrays) to run the presets on; an error when ' +
          "it is missing or empty (default: the repository's own, " +
          'test/destination/fixtures)'
      )
    )
    .addHelpText(
      'after',
      [
        '',
        'Exit code 0 when there are no errors (warnings are printed only), 1 otherwise.',
        '',
        'Examples:',
        '  $ ./bin/run validate',
        '  $ ./bin/run validate --events my-captured-events/'
      ].join('\n')
    )
    .action((options: Options) => {
      process.exitCode = runValidate(options.path, options.events, (line) => console.log(line)) || process.exitCode
    })
}
