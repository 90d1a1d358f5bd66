import { loadDestination } from './destination-loader'
import { defaultEvents, formatFinding, validateDefinition } from './definition-validator'

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
