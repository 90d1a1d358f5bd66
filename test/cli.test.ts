import { buildProgram } from '../src/cli'
import { loadDestination } from '../src/cli/lib/destination-loader'

import { real } from './support/definitions'

// The command line itself: its commands, help and exit codes.

describe('command line', () => {
  it('has the monorepo command names, each with its own --help', () => {
    const program = buildProgram()
    const commands = new Map(program.commands.map((command) => [command.name(), command]))
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining(['serve', 'generate:types', 'validate', 'generate:metadata'])
    )
    expect(commands.get('generate:metadata')!.aliases()).toEqual(['generate:metadata-payload'])
    const help = (name: string) => commands.get(name)!.helpInformation()
    expect(help('generate:types')).toContain('-w, --watch')
    expect(help('generate:types')).toContain('--check')
    expect(help('validate')).toContain('-e, --events <folder>')
    expect(help('generate:metadata')).toContain('--check')
  })

  it('loads the definition from its TypeScript source', () => {
    const loaded = loadDestination()
    expect(loaded.name).toBe(real.name)
    expect(Object.keys(loaded.actions)).toEqual(Object.keys(real.actions))
  })
})
