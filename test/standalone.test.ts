import { execFileSync } from 'child_process'
import * as fs from 'fs'
import * as path from 'path'
import { importsOf } from './support/imports'
import { repoRoot } from './support/local-server'

// The repository stands on its own: whoever clones it has no folder beside it (no sibling `shared/`, no machine
// layout such as /work), so no tracked file may read or name a path outside the repository. Segment's real events
// live in the repository (test/destination/fixtures/).

// Built from pieces, so this file does not name what it forbids (nor match a plain search of the tree for it).
const SHARED = ['..', 'sha' + 'red'].join('/')
const SIBLING_SHARED = /(^|[^\w.-])shared\/(fixtures|tools|design|hooks)\b/
const MACHINE_ROOT = ['', 'work', ''].join('/')

/**
 * Where another repository's tools are named on purpose: the monorepo check (docs/monorepo.md) runs scripts kept
 * with the monorepo setup, outside this repository, and no test, tool or command of this repository runs them.
 */
const ALLOWED: { file: RegExp; text: string }[] = [
  { file: /^docs\/(monorepo|MIGRATION)\.md$/, text: `${SHARED}/tools/monorepo-check.sh` },
  { file: /^docs\/monorepo\.md$/, text: `${SHARED}/tools/monorepo-setup.sh` }
]

/** The tracked files (`git ls-files`); outside a git checkout, every file but the ignored folders. */
function trackedFiles(root: string): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean)
  } catch {
    const ignored = new Set(['.git', 'node_modules', 'dist', 'coverage'])
    const walk = (dir: string): string[] =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
        const file = path.posix.join(dir, entry.name)
        if (entry.isDirectory()) return ignored.has(entry.name) ? [] : walk(file)
        return [file]
      })
    return walk('')
  }
}

/** A literal path argument (`'..'`, `"fixtures"`), or undefined for anything else. */
function literal(argument: string): string | undefined {
  return /^\s*(['"])([^'"]*)\1\s*$/.exec(argument)?.[2]
}

/**
 * The paths a file builds with `path.join`/`path.resolve` from its own folder (`__dirname`) or from the repository
 * root (`PROJECT_ROOT`, `repoRoot`, `process.cwd()`), as far as the arguments are literals, relative to `root`.
 */
function builtPaths(root: string, file: string, text: string): string[] {
  const bases: Record<string, string> = {
    __dirname: path.dirname(path.join(root, file)),
    PROJECT_ROOT: root,
    repoRoot: root,
    'process.cwd()': root
  }
  const calls = text.replace(/process\.cwd\(\)/g, 'CWD_TOKEN').matchAll(/\bpath\.(?:join|resolve)\(([^()]*)\)/g)
  const found: string[] = []
  for (const [, args] of calls) {
    const [first, ...rest] = args.split(',')
    const base = bases[first.trim().replace('CWD_TOKEN', 'process.cwd()')]
    if (base === undefined) continue
    const parts: string[] = []
    for (const argument of rest) {
      const value = literal(argument)
      if (value === undefined) break
      parts.push(value)
    }
    found.push(path.relative(root, path.join(base, ...parts)))
  }
  return found
}

const escapes = (relative: string): boolean => relative === '..' || relative.startsWith(`..${path.sep}`)

/** What is wrong with one file's text, as `file: reason` lines; empty when it stays inside the repository. */
function outsideReferences(root: string, file: string, text: string): string[] {
  const problems: string[] = []
  text.split('\n').forEach((line, index) => {
    const where = `${file}:${index + 1}`
    const allowed = ALLOWED.filter((rule) => rule.file.test(file)).map((rule) => rule.text)
    const rest = allowed.reduce((remaining, text) => remaining.split(text).join(''), line)
    if (rest.includes(SHARED)) problems.push(`${where}: names ${SHARED}, a folder beside the repository`)
    else if (SIBLING_SHARED.test(rest)) problems.push(`${where}: names the shared folder beside the repository`)
    if (rest.includes(MACHINE_ROOT)) problems.push(`${where}: names ${MACHINE_ROOT}, a folder of one machine`)
  })
  if (/\.(ts|js)$/.test(file)) {
    const dir = path.dirname(path.join(root, file))
    for (const specifier of importsOf(text).filter((name) => name.startsWith('.'))) {
      if (escapes(path.relative(root, path.resolve(dir, specifier)))) {
        problems.push(`${file}: imports ${specifier}, outside the repository`)
      }
    }
    for (const built of builtPaths(root, file, text).filter(escapes)) {
      problems.push(`${file}: builds the path ${built} (from the repository root), outside the repository`)
    }
  }
  return problems
}

describe('no tracked file reads or names a path outside the repository', () => {
  // All but this file, whose samples below are what the scan must catch; it builds no path but from repoRoot.
  const self = path.relative(repoRoot, __filename).split(path.sep).join('/')
  const files = trackedFiles(repoRoot).filter((file) => file !== self)

  it('sees the tracked files of every part', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        '.ci/run',
        'package.json',
        'jest.config.js',
        'src/cli/lib/definition-validator.ts',
        'src/harness/harness.ts',
        'test/validate.test.ts',
        'bench/workload.ts',
        'docs/monorepo.md'
      ])
    )
    expect(self).toBe('test/standalone.test.ts')
  })

  it('none does', () => {
    const problems = files.flatMap((file) => {
      const full = path.join(repoRoot, file)
      if (!fs.existsSync(full)) return [] // deleted in the work tree, not yet committed
      const bytes = fs.readFileSync(full)
      if (bytes.includes(0)) return [] // binary (docs/tester.png)
      return outsideReferences(repoRoot, file, bytes.toString('utf8'))
    })
    expect(problems).toEqual([])
  })

  describe('the scan (so the test above can fail)', () => {
    const root = path.join(path.sep, 'repo')
    const check = (file: string, text: string) => outsideReferences(root, file, text)

    it.each([
      ['README.md', `read the fixtures in \`${SHARED}/fixtures/segment-events/\``],
      ['src/cli/lib/x.ts', `const dir = '${SHARED}/fixtures'`],
      ['docs/local-tools.md', 'see `shared/fixtures/segment-events/`'],
      ['bench/workload.ts', ' * modelled on the captured fixtures in `shared/fixtures/segment-events`'],
      ['.ci/run', `cd ${MACHINE_ROOT}main`],
      ['docs/destination.md', `(${SHARED}/tools/monorepo-check.sh)`],
      ['test/a.test.ts', "import { b } from '../../outside/b'"],
      ['test/a.test.ts', "const c = require('../../c')"],
      // Split, like SHARED above.
      ['test/a.test.ts', "const dir = path.join(__dirname, '..', '..', " + "'shared', 'fixtures')"],
      ['test/support/a.ts', "const dir = path.resolve(__dirname, '../../..')"],
      ['src/lib/a.ts', "export const DIR = path.join(PROJECT_ROOT, '..', 'x')"],
      ['src/lib/a.ts', "const up = path.join(process.cwd(), '..')"]
    ])('%s: %s is caught', (file, text) => {
      expect(check(file, text)).toHaveLength(1)
    })

    it.each([
      ['test/a.test.ts', "import { b } from '../src/lib/paths'"],
      ['src/destinations/koala-cloud/track/index.ts', "import { fields } from '../fields'"],
      ['src/harness/harness.ts', "import koalaCloud from '../destinations/koala-cloud'"],
      ['test/a.test.ts', "const pkg = path.join(__dirname, '..', 'package.json')"],
      ['test/support/a.ts', "export const repoRoot = path.join(__dirname, '..', '..')"],
      ['src/lib/a.ts', "const dir = path.join(PROJECT_ROOT, 'src', 'destinations')"],
      ['src/lib/a.ts', "const dir = path.join(__dirname, '..', name, '..', '..', '..')"],
      ['docs/monorepo.md', `${SHARED}/tools/monorepo-check.sh .`],
      ['docs/destination.md', 'code shared by concern; shared/ helpers; a shared fixture'],
      ['.ci/run', 'cd "$(dirname "$0")/.."']
    ])('%s: %s is not', (file, text) => {
      expect(check(file, text)).toEqual([])
    })
  })
})
