import type { Command } from 'commander'

/** `start`: not written yet. */
export default function register(program: Command): void {
  program
    .command('start')
    .description('(not written yet)')
    .action(() => {
      throw new Error('start is not written yet')
    })
}
