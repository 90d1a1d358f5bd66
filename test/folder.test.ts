import * as fs from 'fs'
import { builtinModules } from 'module'
import * as path from 'path'
import { DESTINATION_DIR } from '../src/lib/paths'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { importsOf, typeScriptFiles } from './support/imports'

// The destination's folder moves into Segment's monorepo as it is (docs/monorepo.md): these tests hold it to what
// that move needs, from outside, since the folder's own tests may not read files.

describe('the destination folder is self-contained', () => {
  const files = typeScriptFiles(DESTINATION_DIR)

  it('finds the folder’s files', () => {
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'identify/index.ts', '__tests__/__helpers__/helpers.ts']))
  })

  it.each(files)('%s imports only the folder itself, @segment/actions-core, Node (net) and (in tests) nock', (file) => {
    const isTest = file.split(path.sep).includes('__tests__')
    // Node's own modules are the platform, which the monorepo's destinations use too (`net.isIP` here).
    const allowed = isTest
      ? ['@segment/actions-core', 'nock', ...builtinModules]
      : ['@segment/actions-core', ...builtinModules]
    const outside = importsOf(fs.readFileSync(path.join(DESTINATION_DIR, file), 'utf8')).filter((specifier) => {
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(path.join(DESTINATION_DIR, file)), specifier)
        return path.relative(DESTINATION_DIR, target).startsWith('..')
      }
      return !allowed.includes(specifier)
    })
    expect(outside).toEqual([])
  })

  it('the import scan sees every form of import (so the test above can fail)', () => {
    expect(
      importsOf(
        "import fs from 'fs'\nimport type { A } from '../../x'\nexport { b } from './y'\nimport './side'\nrequire('path')\n"
      )
    ).toEqual(['fs', '../../x', './y', './side', 'path'])
  })

  it('no helper module sits where the monorepo’s jest would run it as a suite', () => {
    const suitesOutsideHelpers = files.filter(
      (file) => file.split(path.sep).includes('__tests__') && !file.split(path.sep).includes('__helpers__')
    )
    expect(suitesOutsideHelpers.filter((file) => !file.endsWith('.test.ts'))).toEqual([])
  })
})

describe('the User-Agent', () => {
  it('names the destination (Koala asks every caller for a descriptive one)', () => {
    expect(USER_AGENT).toMatch(/^Segment Actions Koala \(Cloud\) destination\b/)
  })
})

/**
 * What the folder's code (its tests aside) may not do, as Segment's reviewers require: read the environment, or set a
 * request timeout (Segment's runtime passes an AbortSignal; the local tools' harness adds their own timeout). Each
 * is a pattern and what it finds.
 */
const FORBIDDEN: { pattern: RegExp; what: string }[] = [
  { pattern: /\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*['"]env['"]\s*\]/, what: 'reads the environment' },
  { pattern: /\btimeout\s*:|\bAbortSignal\s*\.\s*timeout\b/, what: 'sets a request timeout' }
]

/** The rules `text` breaks, by {@link FORBIDDEN}'s `what`; comments are not code. */
function forbiddenIn(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1')
  return FORBIDDEN.filter(({ pattern }) => pattern.test(code)).map(({ what }) => what)
}

describe('the folder reads no environment and sets no request timeout', () => {
  const code = typeScriptFiles(DESTINATION_DIR).filter((file) => !file.split(path.sep).includes('__tests__'))

  it.each(code)('%s', (file) => {
    expect(forbiddenIn(fs.readFileSync(path.join(DESTINATION_DIR, file), 'utf8'))).toEqual([])
  })

  it.each([
    ['const url = process.env.KOALA_API_URL', ['reads the environment']],
    ["const { env } = process; const x = process['env']", ['reads the environment']],
    ['request(url, { method: "POST", timeout: 5000 })', ['sets a request timeout']],
    ['fetch(url, { signal: AbortSignal.timeout(10) })', ['sets a request timeout']],
    ['// a timeout: no\n/** process.env is not read */\nconst ok = 1', []],
    ["const url = 'https://api2.getkoala.com' // a timeout or a network failure", []]
  ])('the scan: %s (so the test above can fail)', (text, expected) => {
    expect(forbiddenIn(text)).toEqual(expected)
  })
})
