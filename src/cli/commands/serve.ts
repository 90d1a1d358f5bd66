import type { Command } from 'commander'

/** `serve`: not written yet. */
export default function register(program: Command): void {
  program
    .command('serve')
    .description('(not written yet)')
    .action(() => {
      throw new Error('serve is not written yet')
    })
}
