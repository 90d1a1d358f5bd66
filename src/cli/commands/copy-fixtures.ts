import { Option } from 'commander'
import type { Command } from 'commander'
import * as path from 'path'
import { FIXTURE_COPIES_DIR, writeFixtureCopies } from '../lib/fixture-copies'
import { FIXTURES_DIR } from '../lib/definition-validator'

/** `copy-fixtures`: refreshes the destination's copies of the shared Segment fixtures (see fixture-copies.ts). */
export default function register(program: Command): void {
  program
    .command('copy-fixtures')
    .description("Copy the shared Segment fixtures into the destination's test folder, one JSON array per file")
    .addOption(
      new Option('--from <folder>', 'folder of *.ndjson Segment events').default(
        FIXTURES_DIR,
        '../shared/fixtures/segment-events'
      )
    )
    .action((options: { from: string }) => {
      const changed = writeFixtureCopies(options.from)
      const where = path.relative(process.cwd(), FIXTURE_COPIES_DIR)
      console.log(changed.length ? `Updated in ${where}: ${changed.join(', ')}` : `${where} is up to date.`)
    })
}
