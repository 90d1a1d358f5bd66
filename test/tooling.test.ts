import type { DestinationDefinition } from '@segment/actions-core'
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { buildProgram } from '../src/cli'
import { runValidate } from '../src/cli/lib/run-validate'
import { affectsTypes, expectedTypeFiles, staleTypeFiles, watchTypes } from '../src/cli/lib/types-generator'
import { loadDestination } from '../src/cli/lib/destination-loader'
import { buildMetadata, isMetadataStale, metadataPath, metadataText } from '../src/cli/lib/metadata'
import { DESTINATION_DIR } from '../src/lib/paths'
import {
  defaultEvents,
  FIXTURES_DIR,
  formatFinding,
  readFixtureEvents,
  syntheticEvents,
  validateDefinition
} from '../src/cli/lib/definition-validator'
import type { RealEvent } from '../src/cli/lib/definition-validator'
import destination from '../src/destinations/koala-cloud'
import { generateTestData, seededRandom } from '../src/destinations/koala-cloud/__tests__/__helpers__/test-data'

// json-schema-to-typescript requires prettier's main entry, which runs a dynamic import() that Jest 29 rejects;
// the generators format with prettier's standalone build themselves, so the main entry is never called here.
jest.mock('prettier', () => jest.requireActual<object>('prettier/standalone'))

type Definition = DestinationDefinition<unknown>
const real = destination as unknown as Definition

/** A copy of the real definition deep enough to break one part without touching the original. */
function brokenCopy(change: (copy: Definition) => void): Definition {
  const copy: Definition = {
    ...real,
    authentication: {
      ...real.authentication!,
      fields: Object.fromEntries(Object.entries(real.authentication!.fields).map(([key, field]) => [key, { ...field }]))
    },
    presets: (real.presets ?? []).map((preset) => ({ ...preset, mapping: { ...preset.mapping } })),
    actions: Object.fromEntries(
      Object.entries(real.actions).map(([key, action]) => [
        key,
        {
          ...action,
          fields: Object.fromEntries(Object.entries(action.fields).map(([name, field]) => [name, { ...field }]))
        }
      ])
    )
  }
  change(copy)
  return copy
}

/** A preset of the copy, typed as an automatic one (the framework's Preset is a union). */
const preset = (copy: Definition, name: string) =>
  copy.presets!.find((candidate) => candidate.name === name) as {
    subscribe: string
    mapping: Record<string, unknown>
  } & {
    partnerAction: string
  }
const trackPreset = (copy: Definition) => preset(copy, 'Track Calls')
const errorsOf = (definition: Definition, events: RealEvent[]) =>
  validateDefinition(definition, events)
    .filter((finding) => finding.level === 'error')
    .map(formatFinding)

let events: RealEvent[]
let tmp: string

beforeAll(() => {
  events = defaultEvents().events
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

describe('metadata.json shape', () => {
  it('has the monorepo keys, with fields, defaults and presets', () => {
    const metadata = buildMetadata(real)
    expect(Object.keys(metadata)).toEqual([
      'slug',
      'name',
      'mode',
      'description',
      'authentication',
      'audienceConfig',
      'actions',
      'presets'
    ])
    expect(metadata).toMatchObject({ slug: 'actions-koala-cloud', name: 'Koala (Cloud)', mode: 'cloud' })
    expect(metadata.authentication).toEqual({
      scheme: 'custom',
      fields: {
        public_key: {
          label: 'Public Key',
          description: 'Your public key',
          type: 'password',
          required: true,
          multiple: false,
          choices: null,
          default: null,
          depends_on: null
        }
      }
    })
    expect(Object.keys(metadata.actions)).toEqual(['identify', 'track', 'page', 'group'])
    expect(metadata.actions.track).toMatchObject({
      title: 'Track',
      platform: 'cloud',
      defaultSubscription: 'type = "track"',
      hasPerformBatch: true,
      syncMode: null,
      hooks: null,
      dynamicFields: null
    })
    expect(metadata.actions.track.fields.sent_at).toMatchObject({
      label: 'Sent At',
      type: 'string',
      format: 'date-time',
      required: true,
      default: { '@path': '$.timestamp' }
    })
    expect(metadata.actions.track.fields.batch_size).toMatchObject({ type: 'number', minimum: 1, maximum: 1000 })
    expect(
      metadata.presets.map(({ name, partnerAction, subscribe, type, eventSlug }) => ({
        name,
        partnerAction,
        subscribe,
        type,
        eventSlug
      }))
    ).toEqual([
      { name: 'Track Calls', partnerAction: 'track', subscribe: 'type = "track"', type: 'automatic', eventSlug: null },
      {
        name: 'Identify Calls',
        partnerAction: 'identify',
        subscribe: 'type = "identify"',
        type: 'automatic',
        eventSlug: null
      }
    ])
    expect(metadata.presets[0].mapping.event).toEqual({ '@path': '$.event' })
  })

  it('follows the monorepo generator’s rules: key order, format near the end, none on settings, dynamicFields', () => {
    const metadata = buildMetadata(real)
    expect(Object.keys(metadata.actions.identify)).toEqual([
      'title',
      'description',
      'platform',
      'defaultSubscription',
      'hidden',
      'hasPerformBatch',
      'syncMode',
      'hooks',
      'dynamicFields',
      'fields'
    ])
    expect(Object.keys(metadata.actions.identify.fields.sent_at)).toEqual([
      'label',
      'description',
      'type',
      'required',
      'multiple',
      'allowNull',
      'dynamic',
      'default',
      'choices',
      'placeholder',
      'properties',
      'category',
      'depends_on',
      'readOnly',
      'hidden',
      'minimum',
      'maximum',
      'defaultObjectUI',
      'disabledInputMethods',
      'displayMode',
      'format',
      'additionalProperties'
    ])
    expect(metadata.authentication?.fields.public_key).not.toHaveProperty('format')
    // Unset labels, descriptions and preset types are left out of the file, not written as null.
    const bare = buildMetadata(
      brokenCopy((copy) => {
        delete copy.description
        delete (copy.actions.track.fields.event as { label?: string }).label
        delete (copy.presets![0] as { type?: string }).type
      })
    )
    const text = JSON.stringify(bare)
    expect(JSON.parse(text)).not.toHaveProperty('description')
    expect(JSON.parse(text).actions.track.fields.event).not.toHaveProperty('label')
    expect(JSON.parse(text).presets[0]).not.toHaveProperty('type')
  })

  it('refuses a definition without a slug', () => {
    expect(() => buildMetadata(brokenCopy((copy) => delete copy.slug))).toThrow(
      'The destination "Koala (Cloud)" has no slug: metadata.json needs one.'
    )
  })
})

describe('validate', () => {
  it('runs on the shared fixtures when they are present', () => {
    const fixtures = readFixtureEvents(path.join(__dirname, '..', '..', 'shared', 'fixtures', 'segment-events'))
    expect(events).toEqual(fixtures.length ? fixtures : syntheticEvents())
    expect(events.length).toBeGreaterThan(0)
  })

  it('passes on the real definition (no errors; warnings only name fields that resolve on no real event)', () => {
    const findings = validateDefinition(real, events)
    expect(findings.filter((finding) => finding.level === 'error')).toEqual([])
    for (const warning of findings) expect(warning.message).toMatch(/^field "\w+" resolves to no value on any of/)
  })

  it('fails when a preset names a missing action', () => {
    const broken = brokenCopy((copy) => {
      trackPreset(copy).partnerAction = 'trackEvent'
    })
    expect(errorsOf(broken, events)).toEqual([
      'error   presets[0] "Track Calls": names the action "trackEvent", which does not exist (actions: identify, track, page, group).'
    ])
  })

  it('fails on subscriptions that do not parse, are incomplete or name an unknown type', () => {
    const broken = brokenCopy((copy) => {
      trackPreset(copy).subscribe = 'type = "track'
      preset(copy, 'Identify Calls').subscribe = 'type = "identify" and'
      copy.actions.track.defaultSubscription = 'type = "trak"'
    })
    expect(errorsOf(broken, events)).toEqual([
      'error   actions.track: has an invalid defaultSubscription "type = \\"trak\\"": it compares type with "trak", which is not a Segment event type (track, identify, page, screen, group, alias)',
      'error   presets[0] "Track Calls": has an invalid subscribe query "type = \\"track": the FQL parser failed: Cannot read properties of undefined (reading \'type\')',
      'error   presets[1] "Identify Calls": has an invalid subscribe query "type = \\"identify\\" and": it is incomplete or malformed: Segment would read it as "type = \\"identify\\""'
    ])
  })

  it('fails when a field has no label or description', () => {
    const broken = brokenCopy((copy) => {
      copy.actions.identify.fields.traits = { ...copy.actions.identify.fields.traits, description: '' }
      copy.actions.track.fields.event = { ...copy.actions.track.fields.event, label: '  ' }
    })
    expect(errorsOf(broken, events)).toEqual([
      'error   actions.identify.fields.traits: has no description.',
      'error   actions.track.fields.event: has no label.'
    ])
  })

  it('fails when a required field has no default', () => {
    const broken = brokenCopy((copy) => {
      const { default: _default, ...withoutDefault } = copy.actions.track.fields.event
      copy.actions.track.fields.event = withoutDefault
    })
    const trackEvents = events.filter(({ event }) => event.type === 'track')
    expect(errorsOf(broken, events)).toEqual([
      'error   actions.track.fields.event: is required but has no default: every new mapping would start out invalid.',
      // A mapping made from the defaults (which no preset uses any more) fails on every real track event.
      `error   actions.track (defaults): maps ${trackEvents.length} of the ${trackEvents.length} real events its subscription matches to an invalid payload (first: ${trackEvents[0].source}): The root value is missing the required field 'event'.`
    ])
  })

  it('fails when a key setting is not a password field', () => {
    const broken = brokenCopy((copy) => {
      copy.authentication!.fields.public_key = { ...copy.authentication!.fields.public_key, type: 'string' }
    })
    expect(errorsOf(broken, events)).toEqual([
      'error   authentication.fields.public_key: looks like a secret ("key") but its type is "string": make it type "password" so Segment encrypts and masks it.'
    ])
  })

  it('fails on a badly formed slug or name', () => {
    expect(
      errorsOf(
        brokenCopy((copy) => (copy.slug = 'koala_cloud')),
        events
      )
    ).toEqual([
      'error   slug: "koala_cloud" is not "actions-" followed by lowercase kebab-case words (for example "actions-koala-cloud").'
    ])
    expect(
      errorsOf(
        brokenCopy((copy) => (copy.slug = 'actions-Koala--Cloud')),
        events
      )
    ).toEqual([
      'error   slug: "actions-Koala--Cloud" is not "actions-" followed by lowercase kebab-case words (for example "actions-koala-cloud").'
    ])
    expect(
      errorsOf(
        brokenCopy((copy) => (copy.name = ' Koala  (Cloud)')),
        events
      )
    ).toEqual(['error   name: " Koala  (Cloud)" has leading/trailing or repeated spaces or control characters.'])
  })

  it('fails when a default is not a mapping directive or does not fit the field', () => {
    const broken = brokenCopy((copy) => {
      copy.actions.identify.fields.email = { ...copy.actions.identify.fields.email, default: { '@pth': '$.email' } }
      copy.actions.identify.fields.batch_size = { ...copy.actions.identify.fields.batch_size, default: 5000 }
      copy.actions.identify.fields.enable_batching = { ...copy.actions.identify.fields.enable_batching, default: 'yes' }
    })
    expect(errorsOf(broken, events)).toEqual([
      'error   actions.identify.fields.email: has a default that is not a valid mapping directive: /email has an invalid directive: @pth.',
      'error   actions.identify.fields.enable_batching: has a default of type "string", but the field\'s type is "boolean".',
      'error   actions.identify.fields.batch_size: has a default 5000 above its maximum 1000.'
    ])
  })

  it('fails when a preset maps real events to payloads the action rejects', () => {
    const broken = brokenCopy((copy) => {
      trackPreset(copy).mapping = { ...trackPreset(copy).mapping, sent_at: { '@path': '$.properties.no_such_field' } }
      trackPreset(copy).mapping.colour = 'blue'
    })
    const trackEvents = events.filter(({ event }) => event.type === 'track').length
    expect(errorsOf(broken, events)).toEqual([
      'error   presets[0] "Track Calls": maps the field "colour", which the "track" action does not define.',
      `error   presets[0] "Track Calls": maps ${trackEvents} of the ${trackEvents} real events its subscription matches to an invalid payload (first: ${
        events.find(({ event }) => event.type === 'track')!.source
      }): The root value is missing the required field 'sent_at'.`
    ])
  })

  it('fails when a preset leaves a required field unmapped', () => {
    const broken = brokenCopy((copy) => {
      delete trackPreset(copy).mapping.message_id
    })
    expect(errorsOf(broken, events)[0]).toBe(
      'error   presets[0] "Track Calls": does not map the required field "message_id" of the "track" action.'
    )
  })

  it('the command exits 0 on the real definition and 1 with the messages on a broken one', () => {
    const lines: string[] = []
    expect(runValidate(DESTINATION_DIR, undefined, (line) => lines.push(line))).toBe(0)
    expect(lines[0]).toBe(
      `Validating Koala (Cloud) (actions-koala-cloud) on ${events.length} real Segment events from ` +
        path.relative(process.cwd(), FIXTURES_DIR)
    )
    expect(lines[lines.length - 1]).toMatch(/^0 errors, \d+ warning\(s\): the definition is valid\.$/)

    const dir = path.join(tmp, 'broken-destination')
    fs.mkdirSync(dir)
    fs.writeFileSync(
      path.join(dir, 'index.js'),
      `module.exports = {
        name: 'Broken', slug: 'broken', mode: 'cloud', description: 'A broken copy.',
        authentication: { scheme: 'custom', fields: { api_token: { label: 'API Token', description: 'The token.', type: 'string', required: true } }, testAuthentication: () => true },
        presets: [{ name: 'Track Calls', subscribe: 'type = "track"', partnerAction: 'send', mapping: {}, type: 'automatic' }],
        actions: {}
      }`
    )
    const broken: string[] = []
    expect(runValidate(dir, undefined, (line) => broken.push(line))).toBe(1)
    expect(broken.slice(1)).toEqual([
      'error   slug: "broken" is not "actions-" followed by lowercase kebab-case words (for example "actions-broken").',
      'error   authentication.fields.api_token: looks like a secret ("token") but its type is "string": make it type "password" so Segment encrypts and masks it.',
      'error   actions: The destination "Broken" does not define any actions.',
      'error   presets[0] "Track Calls": names the action "send", which does not exist (actions: none).',
      '4 error(s), 0 warning(s): the definition is not valid.'
    ])
  })

  describe('--events', () => {
    const folder = (name: string, files: Record<string, string> = {}) => {
      const dir = path.join(tmp, name)
      fs.mkdirSync(dir)
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
      return dir
    }

    it.each<[string, () => string, (dir: string) => string]>([
      [
        'a folder that does not exist',
        () => path.join(tmp, 'nonexistent'),
        (dir) => `--events ${dir}: the folder does not exist.`
      ],
      [
        'a file instead of a folder',
        () => {
          const file = path.join(tmp, 'events.ndjson')
          fs.writeFileSync(file, '')
          return file
        },
        (dir) => `--events ${dir}: this is not a folder.`
      ],
      [
        'a folder without .ndjson files',
        () => folder('no-ndjson', { 'events.json': '{}' }),
        (dir) => `--events ${dir}: the folder holds no .ndjson files (one Segment event per line).`
      ],
      [
        'a folder whose .ndjson files are empty',
        () => folder('empty-ndjson', { 'a.ndjson': '\n\n' }),
        (dir) => `--events ${dir}: its .ndjson files hold no Segment events.`
      ]
    ])('given explicitly, %s is an error naming the path, not a fallback', (_name, makeDir, message) => {
      const dir = makeDir()
      const lines: string[] = []
      expect(() => runValidate(DESTINATION_DIR, dir, (line) => lines.push(line))).toThrow(message(dir))
      expect(lines).toEqual([])
    })

    it('on the command line, /nonexistent fails with that message (bin/run then exits 1)', async () => {
      const program = buildProgram().exitOverride()
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined)
      try {
        await expect(program.parseAsync(['node', 'run', 'validate', '--events', '/nonexistent'])).rejects.toThrow(
          '--events /nonexistent: the folder does not exist.'
        )
        expect(log).not.toHaveBeenCalled()
      } finally {
        log.mockRestore()
      }
    })

    it('given explicitly with events, uses them and calls them real', () => {
      const dir = folder('own-events', { 'a.ndjson': `${JSON.stringify(events[0].event)}\n` })
      expect(defaultEvents(dir)).toEqual({
        events: [{ source: 'a.ndjson:1', event: events[0].event }],
        from: `1 real Segment events from ${path.relative(process.cwd(), dir)}`
      })
    })

    it('only the default folder falls back, and then says the events are generated test events', () => {
      const missingDefault = path.join(tmp, 'no-default-fixtures')
      const { events: generated, from } = defaultEvents(undefined, missingDefault)
      expect(generated.map(({ source, generated: flag, event }) => [source, flag, event.messageId])).toEqual(
        syntheticEvents().map(({ source, event }) => [source, true, event.messageId])
      )
      expect(from).toBe(
        '6 generated test events (createTestEvent, one per event type), not real ones: no Segment events found in ' +
          path.relative(process.cwd(), missingDefault)
      )
      // Findings about these events do not call them real.
      const broken = brokenCopy((copy) => {
        trackPreset(copy).subscribe = 'type = "track" and event = "No Such Event"'
      })
      expect(errorsOf(broken, generated)).toEqual([
        'error   presets[0] "Track Calls": its subscription "type = \\"track\\" and event = \\"No Such Event\\"" matches none of the 6 generated test events.'
      ])
    })
  })
})

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

describe('seeded test data', () => {
  it('is the same for the same seed and differs between seeds', () => {
    const draw = (seed: string) => {
      const next = seededRandom(seed)
      return [next(), next(), next()]
    }
    expect(draw('a')).toEqual(draw('a'))
    expect(draw('a')).not.toEqual(draw('b'))
    for (const value of draw('c')) expect(value >= 0 && value < 1).toBe(true)
  })

  it('follows the field schema and the required-only rule', () => {
    const [all, settings] = generateTestData('seed', destination, destination.actions.track, false)
    const [required] = generateTestData('seed', destination, destination.actions.track, true)
    expect(Object.keys(all)).toEqual(Object.keys(destination.actions.track.fields))
    expect(Object.keys(required)).toEqual(['profile_id', 'event', 'sent_at', 'message_id'])
    for (const key of Object.keys(required)) expect(required[key]).toEqual(all[key])
    expect(settings.public_key).toMatch(/^[A-Za-z0-9]{24}$/)
    expect(all.email).toMatch(/^[a-z]+\.[a-z]{6}@example\.com$/)
    expect(all.device_ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/)
    expect(new Date(all.sent_at as string).toISOString()).toBe(all.sent_at)
    expect(typeof all.enable_batching).toBe('boolean')
    expect(all.batch_size).toEqual(expect.any(Number))
    expect((all.batch_size as number) >= 1 && (all.batch_size as number) <= 1000).toBe(true)
    expect(generateTestData('seed', destination, destination.actions.track, false)).toEqual([all, settings])
  })
})
