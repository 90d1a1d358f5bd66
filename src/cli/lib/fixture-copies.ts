import * as fs from 'fs'
import * as path from 'path'
import babel from 'prettier/parser-babel'
import { format } from 'prettier/standalone'
import { DESTINATION_DIR } from '../../lib/paths'
import { readFixtureEvents } from './definition-validator'

/**
 * The destination's own copies of the shared Segment fixtures: the folder must carry the real events its tests use,
 * since it moves into the monorepo without `../shared` and its tests may not read files. Each `name.ndjson` becomes
 * `name.json`, a JSON array with the event of line N at index N - 1, formatted by prettier so the monorepo's
 * `prettier --check` leaves it unchanged.
 */

/** Where the copies live: a path the monorepo's jest does not run as suites. */
export const FIXTURE_COPIES_DIR = path.join(DESTINATION_DIR, '__tests__', '__helpers__', 'fixtures')

/**
 * The copies that `sourceDir` calls for.
 *
 * @param sourceDir a folder of `*.ndjson` Segment events (the shared fixtures).
 * @returns copy file name (`analytics-node.json`) -> its exact text.
 * @throws SyntaxError naming the file and line of a line that is not JSON; Error for a blank line, which would
 *   shift every later event's line number.
 */
export function expectedFixtureCopies(sourceDir: string): Map<string, string> {
  const byFile = new Map<string, unknown[]>()
  for (const { source, event } of readFixtureEvents(sourceDir)) {
    const [file, line] = source.split(':')
    const events = byFile.get(file) ?? []
    if (events.length !== Number(line) - 1) throw new Error(`${source}: a blank line before it would renumber events`)
    events.push(event)
    byFile.set(file, events)
  }
  const copies = new Map<string, string>()
  for (const [file, events] of byFile) {
    copies.set(file.replace(/\.ndjson$/, '.json'), format(JSON.stringify(events), { parser: 'json', plugins: [babel] }))
  }
  return copies
}

/** The copies present now, file name -> text. */
export function currentFixtureCopies(dir = FIXTURE_COPIES_DIR): Map<string, string> {
  if (!fs.existsSync(dir)) return new Map()
  return new Map(
    fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')])
  )
}

/**
 * Rewrites the copies from `sourceDir`, removing copies whose source is gone.
 *
 * @returns the file names written or removed.
 */
export function writeFixtureCopies(sourceDir: string, dir = FIXTURE_COPIES_DIR): string[] {
  const expected = expectedFixtureCopies(sourceDir)
  if (expected.size === 0) throw new Error(`${sourceDir} holds no *.ndjson Segment events to copy.`)
  const current = currentFixtureCopies(dir)
  fs.mkdirSync(dir, { recursive: true })
  const changed: string[] = []
  for (const [name, text] of expected) {
    if (current.get(name) === text) continue
    fs.writeFileSync(path.join(dir, name), text)
    changed.push(name)
  }
  for (const name of current.keys()) {
    if (expected.has(name)) continue
    fs.rmSync(path.join(dir, name))
    changed.push(name)
  }
  return changed
}
