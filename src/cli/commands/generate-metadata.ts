import type { Command } from 'commander'

/** `generate-metadata`: not written yet. */
export default function register(program: Command): void {
  program
    .command('generate:metadata')
    .description('(not written yet)')
    .action(() => {
      throw new Error('generate-metadata is not written yet')
    })
}
