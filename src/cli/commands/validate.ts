import type { Command } from 'commander'

/** `validate`: not written yet. */
export default function register(program: Command): void {
  program
    .command('validate')
    .description('(not written yet)')
    .action(() => {
      throw new Error('validate is not written yet')
    })
}
