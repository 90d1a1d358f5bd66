import * as fs from 'fs'
import * as path from 'path'
import { DESTINATION_DIR } from '../src/lib/paths'
import { DESTINATION_VERSION, USER_AGENT } from '../src/destinations/koala-cloud/config'
import { importsOf, typeScriptFiles } from './support/imports'

// The destination's folder moves into Segment's monorepo as it is (docs/monorepo.md): these tests hold it to what
// that move needs, from outside, since the folder's own tests may not read files.

describe('the destination folder is self-contained', () => {
  const files = typeScriptFiles(DESTINATION_DIR)

  it('finds the folder’s files', () => {
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'identify/index.ts', '__tests__/__helpers__/helpers.ts']))
  })

  it.each(files)('%s imports only the folder itself, @segment/actions-core and (in tests) nock', (file) => {
    const isTest = file.split(path.sep).includes('__tests__')
    const allowed = isTest ? ['@segment/actions-core', 'nock'] : ['@segment/actions-core']
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

describe('the version in the User-Agent', () => {
  it('is the package version, written into the folder (which may not read package.json)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
    expect(DESTINATION_VERSION).toBe(pkg.version)
    expect(USER_AGENT).toBe(`Segment Actions Koala (Cloud) destination/${pkg.version}`)
  })
})
