import * as fs from 'fs'
import * as path from 'path'
import { importsOf, typeScriptFiles } from './support/imports'

// The parts of the repository and who may import whom (CONTRIBUTING.md, "Layout"): commands declare commands and call library
// code; the server, the sandbox and the shared helpers never reach into the command line; the sandbox stands for Koala,
// so neither it nor the helpers it shares (src/lib) use the destination's code it checks. (The destination's own rule,
// nothing outside its folder, is in test/folder.test.ts.)

const SRC = path.join(__dirname, '..', 'src')

/** The src/ paths that `text`, the source of the file `full`, imports. */
function srcTargets(full: string, text: string): string[] {
  return importsOf(text)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.relative(SRC, path.resolve(path.dirname(full), specifier)))
}

/** The files of `part` (under src/) and, for each, the src/ paths it imports. */
function importsIn(part: string): [string, string[]][] {
  const dir = path.join(SRC, part)
  return typeScriptFiles(dir).map((file) => {
    const full = path.join(dir, file)
    return [path.join(part, file), srcTargets(full, fs.readFileSync(full, 'utf8'))]
  })
}

const intoDestinations = (targets: string[]) => targets.some((target) => target.startsWith('destinations'))

it.each(['server', 'sandbox', 'lib'])('src/%s imports nothing from src/cli', (part) => {
  const offending = importsIn(part).filter(([, targets]) => targets.some((target) => target.startsWith('cli')))
  expect(offending).toEqual([])
})

it.each(['sandbox', 'lib'])('src/%s imports nothing from src/destinations', (part) => {
  const offending = importsIn(part).filter(([, targets]) => intoDestinations(targets))
  expect(offending).toEqual([])
})

it('a sandbox import of the destination breaks that rule, one of src/lib does not (so the test above can fail)', () => {
  const sandbox = path.join(SRC, 'sandbox', 'sandbox-server.ts')
  expect(
    intoDestinations(srcTargets(sandbox, "import { redactProjectUrl } from '../destinations/koala-cloud/config'"))
  ).toBe(true)
  expect(intoDestinations(srcTargets(sandbox, "import { shortenProjectKey } from '../lib/text'"))).toBe(false)
})

it('no command imports another command', () => {
  const offending = importsIn(path.join('cli', 'commands')).filter(([, targets]) =>
    targets.some((target) => target.startsWith(path.join('cli', 'commands')))
  )
  expect(offending).toEqual([])
})

it('no two source files share a name', () => {
  const names = new Map<string, string[]>()
  for (const file of typeScriptFiles(SRC).filter((name) => !name.includes('__tests__'))) {
    const base = path.basename(file)
    if (['index.ts', 'generated-types.ts'].includes(base)) continue
    names.set(base, [...(names.get(base) ?? []), file])
  }
  expect([...names.values()].filter((files) => files.length > 1)).toEqual([])
})
