/** Thrown for a bad flag: the command prints its message above the usage and exits with 2. */
export class UsageError extends RangeError {}

/**
 * Reads a numeric flag of `npm run bench` or `npm run chaos`.
 *
 * @param value the flag's text as `parseArgs` gives it; absent or empty means `fallback`.
 * @param range the accepted bounds, inclusive; `integer` unless `integer: false`.
 * @throws UsageError naming the flag and the accepted range.
 */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  range: { min: number; max: number; integer?: boolean }
): number {
  const parsed = value === undefined || value === '' ? fallback : Number(value)
  const integer = range.integer !== false
  if (!Number.isFinite(parsed) || parsed < range.min || parsed > range.max || (integer && !Number.isInteger(parsed))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}.`)
  }
  return parsed
}

/**
 * Runs a bench command's `main` with the process's arguments and sets the exit code: `main`'s own, 2 for a bad flag
 * (its message above the usage), 1 for any other failure (its message, without a stack trace).
 */
export function runCommand(main: (args: string[]) => Promise<number>, usage: string): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      const bad = error instanceof UsageError || /^ERR_PARSE_ARGS/.test(String((error as { code?: unknown }).code))
      console.error(bad ? `${(error as Error).message}\n${usage}` : error instanceof Error ? error.message : error)
      process.exitCode = bad ? 2 : 1
    }
  )
}
