import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { affectsTypes, expectedTypeFiles, staleTypeFiles, watchTypes } from '../src/cli/lib/types-generator'
import { isMetadataStale, metadataPath, metadataText } from '../src/cli/lib/metadata'
import { DESTINATION_DIR } from '../src/lib/paths'

import { brokenCopy, real } from './support/definitions'
import type { Definition } from './support/definitions'

// `generate:types`: the committed generated files are fresh, and --watch regenerates them.

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-tooling-'))
})
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('generated files are up to date', () => {
  it('every generated-types.ts matches what generate:types produces now', async () => {
    const expected = await expectedTypeFiles(real, DESTINATION_DIR)
    expect([...expected.keys()].map((file) => path.relative(DESTINATION_DIR, file)).sort()).toEqual([
      'generated-types.ts',
      'group/generated-types.ts',
      'identify/generated-types.ts',
      'page/generated-types.ts',
      'track/generated-types.ts'
    ])
    // On failure: run `./bin/run generate:types` (or `npm run types`) and commit the result.
    expect(await staleTypeFiles(real, DESTINATION_DIR)).toEqual([])
  })

  it('metadata.json matches what generate:metadata produces now', () => {
    // On failure: run `./bin/run generate:metadata` (or `npm run metadata`) and commit the result.
    expect(isMetadataStale(real, DESTINATION_DIR)).toBe(false)
    expect(fs.readFileSync(metadataPath(DESTINATION_DIR), 'utf8')).toBe(metadataText(real))
  })

  it('the staleness checks notice a changed field', async () => {
    const changed = brokenCopy((copy) => {
      copy.actions.track.fields.event = { ...copy.actions.track.fields.event, description: 'Changed' }
    })
    expect(
      (await staleTypeFiles(changed, DESTINATION_DIR)).map((file) => path.relative(DESTINATION_DIR, file))
    ).toEqual(['track/generated-types.ts'])
    expect(isMetadataStale(changed, DESTINATION_DIR)).toBe(true)
  })
})

describe('generate:types --watch', () => {
  it('ignores its own outputs, tests and editor files', () => {
    expect(affectsTypes('index.ts')).toBe(true)
    expect(affectsTypes('track/index.ts')).toBe(true)
    expect(affectsTypes(null)).toBe(true)
    expect(affectsTypes('generated-types.ts')).toBe(false)
    expect(affectsTypes('track/generated-types.ts')).toBe(false)
    expect(affectsTypes('track.types.ts')).toBe(false)
    expect(affectsTypes('metadata.json')).toBe(false)
    expect(affectsTypes('track/__tests__/index.test.ts')).toBe(false)
    expect(affectsTypes('track/.index.ts.swp')).toBe(false)
    expect(affectsTypes('track/index.ts~')).toBe(false)
  })

  it('regenerates the types after a source change, and only then', async () => {
    // The definition lives in a JSON file read fresh on every load (`load` is injected): inside Jest, require()
    // keeps its own module registry, which loadDestination's cache clearing cannot reset.
    const dir = path.join(tmp, 'watched-destination')
    fs.mkdirSync(path.join(dir, 'send'), { recursive: true })
    const source = (fieldName: string) =>
      JSON.stringify({
        name: 'Watched',
        slug: 'actions-watched',
        mode: 'cloud',
        actions: {
          send: {
            title: 'Send',
            description: 'Sends.',
            fields: { [fieldName]: { label: 'A', description: 'A field.', type: 'string' } }
          }
        }
      })
    fs.writeFileSync(path.join(dir, 'definition.json'), source('first_field'))
    let loads = 0
    const load = (folder: string) => {
      loads++
      return JSON.parse(fs.readFileSync(path.join(folder, 'definition.json'), 'utf8')) as Definition
    }
    const generated = path.join(dir, 'send', 'generated-types.ts')
    const waitFor = async (done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    }

    const updates: string[][] = []
    const errors: Error[] = []
    const watcher = watchTypes(dir, {
      debounceMs: 200,
      load,
      onUpdate: (changed) => updates.push(changed),
      onError: (error) => errors.push(error)
    })
    try {
      // A burst of saves is one regeneration.
      fs.writeFileSync(path.join(dir, 'definition.json'), source('second_field'))
      fs.writeFileSync(path.join(dir, 'definition.json'), source('third_field'))
      await waitFor(() => updates.length > 0)
      expect(errors).toEqual([])
      expect(loads).toBe(1)
      expect(updates[0].sort()).toEqual([path.join(dir, 'generated-types.ts'), generated])
      expect(fs.readFileSync(generated, 'utf8')).toContain('third_field?: string')

      // Its own output, tests and metadata do not trigger it.
      fs.writeFileSync(path.join(dir, 'metadata.json'), '{}')
      fs.appendFileSync(generated, '\n')
      await new Promise((resolve) => setTimeout(resolve, 700))
      expect(loads).toBe(1)
    } finally {
      watcher.close()
    }
  }, 15_000)
})
