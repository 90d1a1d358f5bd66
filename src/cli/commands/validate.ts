import { Option } from 'commander'
import type { Command } from 'commander'
import { loadDestination } from '../load-destination'
import { DESTINATION_DIR } from '../paths'
import { defaultEvents, formatFinding, validateDefinition } from '../validate'

interface Options {
  path: string
  events?: string
}

/**
 * Validates the destination read from `target` and prints the findings.
 *
 * @param eventsDir the `--events` folder; undefined for the default (see {@link defaultEvents}).
 * @param log where lines go (stdout in the CLI; a collector in tests).
 * @returns the exit code: 1 when there is at least one error, else 0.
 * @throws Error naming the folder when `eventsDir` does not exist or holds no events (the CLI exits with code 1).
 */
export function runValidate(target: string, eventsDir: string | undefined, log: (line: string) => void): number {
  const definition = loadDestination(target)
  const { events, from } = defaultEvents(eventsDir)
  log(`Validating ${definition.name} (${definition.slug ?? 'no slug'}) on ${from}`)
  const findings = validateDefinition(definition, events)
  for (const finding of findings) log(formatFinding(finding))
  const errors = findings.filter((finding) => finding.level === 'error').length
  const warnings = findings.length - errors
  log(
    errors
      ? `${errors} error(s), ${warnings} warning(s): the definition is not valid.`
      : `0 errors, ${warnings} warning(s): the definition is valid.`
  )
  return errors ? 1 : 0
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
        'folder of *.ndjson Segment events to run the presets on; an error when it is missing or empty ' +
          '(default: ../shared/fixtures/segment-events, or generated test events when that has none)'
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
        '  $ ./bin/run validate --events ../shared/fixtures/segment-events'
      ].join('\n')
    )
    .action((options: Options) => {
      process.exitCode = runValidate(options.path, options.events, (line) => console.log(line)) || process.exitCode
    })
}
