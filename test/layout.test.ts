import * as fs from 'fs'
import * as path from 'path'
import { importsOf, typeScriptFiles } from './support/imports'

// The parts of the repository and who may import whom (CONTRIBUTING.md, "Layout"): commands declare commands and call library
// code; the server, the sandbox and the shared helpers never reach into the command line; the sandbox stands for Koala,
// so neither it nor the helpers it shares (src/lib) use the destination's code it checks; the harness (src/harness) is
// the local tools' one way in to the destination, so no other part of src/ imports the folder, and the folder's
// exports that are going away are imported by nothing outside it. (The destination's own rules, nothing outside its
// folder and no environment, are in test/folder.test.ts.)

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

/** The parts of src/ besides the destination's folder: each one folder. */
const PARTS = fs
  .readdirSync(SRC, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'destinations')
  .map((entry) => entry.name)

it('sees every part of src/', () => {
  expect(PARTS).toEqual(expect.arrayContaining(['cli', 'harness', 'lib', 'sandbox', 'server', 'tester', 'tracking']))
})

it.each(['server', 'sandbox', 'lib', 'harness', 'tracking'])('src/%s imports nothing from src/cli', (part) => {
  const offending = importsIn(part).filter(([, targets]) => targets.some((target) => target.startsWith('cli')))
  expect(offending).toEqual([])
})

it.each(['sandbox', 'lib'])('src/%s imports nothing from src/destinations', (part) => {
  const offending = importsIn(part).filter(([, targets]) => intoDestinations(targets))
  expect(offending).toEqual([])
})

it.each(PARTS.filter((part) => part !== 'harness'))(
  'src/%s imports nothing from src/destinations: the harness is the one way in',
  (part) => {
    const offending = importsIn(part).filter(([, targets]) => intoDestinations(targets))
    expect(offending).toEqual([])
  }
)

it.each([
  ['sandbox', 'harness'],
  ['lib', 'harness'],
  ['tracking', 'server'],
  ['harness', 'server'],
  ['harness', 'tracking']
])('src/%s imports nothing from src/%s', (part, other) => {
  const offending = importsIn(part).filter(([, targets]) => targets.some((target) => target.startsWith(other)))
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

/**
 * What the destination's folder no longer exports once its rewrite lands (the folder reads no environment, sets no
 * timeout, names no version and words its own errors): the harness and the local tools have their own.
 */
const GOING_AWAY = [
  'koalaBaseUrl',
  'koalaAppUrl',
  'requestTimeoutMs',
  'REQUEST_TIMEOUT_MS',
  'redactKey',
  'redactProjectUrl',
  'DESTINATION_VERSION',
  'SKIP_RESPONSE_CLONING',
  'redirectMessage',
  'networkError',
  'koalaReason'
]

/** The names `text` (the source of `file`) imports from the destination's folder, as `file: name` lines. */
function goingAwayImports(file: string, text: string): string[] {
  const found: string[] = []
  for (const [, names, specifier] of text.matchAll(
    /^\s*(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s+'([^']+)'/gm
  )) {
    const target = path.resolve(path.dirname(file), specifier)
    if (
      !path
        .relative(path.join(SRC, 'destinations'), target)
        .split(path.sep)
        .every((part) => part !== '..')
    )
      continue
    for (const name of names.split(',').map((item) => item.trim().split(/\s+as\s+/)[0])) {
      if (GOING_AWAY.includes(name)) found.push(`${path.relative(ROOT, file)}: ${name}`)
    }
  }
  return found
}

const ROOT = path.join(SRC, '..')

it('nothing outside the folder imports what the folder no longer exports', () => {
  const files = ['src', 'test', 'bench'].flatMap((dir) =>
    typeScriptFiles(path.join(ROOT, dir))
      .map((file) => path.join(ROOT, dir, file))
      .filter((file) => !file.startsWith(path.join(SRC, 'destinations') + path.sep))
  )
  expect(files.length).toBeGreaterThan(50)
  expect(files.flatMap((file) => goingAwayImports(file, fs.readFileSync(file, 'utf8')))).toEqual([])
})

it('the scan of those imports (so the test above can fail)', () => {
  const file = path.join(ROOT, 'bench', 'x.ts')
  expect(
    goingAwayImports(
      file,
      "import { BATCH_CONCURRENCY, requestTimeoutMs } from '../src/destinations/koala-cloud/config'\n" +
        "import {\n  redactKey as hide\n} from '../src/destinations/koala-cloud/config'\n" +
        "import { redactKey } from '../src/harness'\n"
    )
  ).toEqual(['bench/x.ts: requestTimeoutMs', 'bench/x.ts: redactKey'])
})

/** The local tools' options for where the destination sends, read only where the command line reads its options. */
const KOALA_OPTIONS =
  /\b(?:process\.env\.|process\.env\[\s*'|envSetting\(\s*')(KOALA_API_URL|KOALA_APP_URL|KOALA_REQUEST_TIMEOUT_MS)\b/

it.each([
  ['src', ['src/cli/lib/local-server.ts']],
  ['bench', []],
  // server-start.test.ts checks how the command line reads them, and that start leaves them unset; the other two
  // hold samples for their scans.
  ['test', ['test/folder.test.ts', 'test/layout.test.ts', 'test/server-start.test.ts']]
])(
  'in %s/, only %j read KOALA_API_URL, KOALA_APP_URL or KOALA_REQUEST_TIMEOUT_MS (the harness gets them passed)',
  (dir, allowed) => {
    const readers = typeScriptFiles(path.join(ROOT, dir))
      .map((file) => path.join(dir, file))
      .filter((file) => !file.startsWith(path.join('src', 'destinations') + path.sep))
      .filter((file) => KOALA_OPTIONS.test(fs.readFileSync(path.join(ROOT, file), 'utf8')))
    expect(readers.map((file) => file.split(path.sep).join('/')).sort()).toEqual(allowed)
  }
)

it('the scan of those reads (so the test above can fail)', () => {
  expect(KOALA_OPTIONS.test('process.env.KOALA_API_URL = sandbox.url')).toBe(true)
  expect(KOALA_OPTIONS.test("const t = envSetting('KOALA_REQUEST_TIMEOUT_MS')")).toBe(true)
  expect(KOALA_OPTIONS.test("process.env['KOALA_APP_URL']")).toBe(true)
  expect(KOALA_OPTIONS.test("export const KOALA_API_URL = 'https://api2.getkoala.com'")).toBe(false)
})
