import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { buildProgram } from '../src/cli'
import { runValidate } from '../src/cli/lib/run-validate'
import { DESTINATION_DIR, PROJECT_ROOT } from '../src/lib/paths'
import {
  defaultEvents,
  FIXTURES_DIR,
  readFixtureEvents,
  syntheticEvents,
  validateDefinition
} from '../src/cli/lib/definition-validator'
import type { RealEvent } from '../src/cli/lib/definition-validator'

import { brokenCopy, errorsOf, preset, real, trackPreset } from './support/definitions'

// `validate`: the definition's checks, run on the real Segment events.

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-tooling-'))
})
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
})
let events: RealEvent[]
beforeAll(() => {
  events = defaultEvents().events
})

describe('validate', () => {
  it('runs by default on the repository’s own real Segment events: test/destination/fixtures', () => {
    expect(FIXTURES_DIR).toBe(path.join(PROJECT_ROOT, 'test', 'destination', 'fixtures'))
    const copies = fs.readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json'))
    const inCopies = copies.reduce(
      (count, name) => count + (JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as unknown[]).length,
      0
    )
    expect(copies.length).toBeGreaterThan(0)
    expect(events).toHaveLength(inCopies)
    expect(events.some((event) => event.generated)).toBe(false)
    expect(events).toEqual(readFixtureEvents(FIXTURES_DIR))
    // The event of line N of the captured analytics-node.ndjson is at index N - 1 of its copy.
    expect(events.find((event) => event.source === 'analytics-node.json[2]')?.event).toMatchObject({
      type: 'identify',
      messageId: 'node-next-1796011027157-cefdc74e-d98b-4761-b0a8-5615ef3feb53'
    })
  })

  it('passes on the real definition (no errors; warnings name fields that resolve on no real event, and the group without a company)', () => {
    const findings = validateDefinition(real, events)
    expect(findings.filter((finding) => finding.level === 'error')).toEqual([])
    const [conditional, ...rest] = findings.filter(
      (finding) => !/^field "\w+" resolves to no value on any of/.test(finding.message)
    )
    expect(rest).toEqual([])
    // spec-examples' group has neither a domain nor an account id: Company Domain is conditionally required.
    expect(conditional).toMatchObject({
      level: 'warning',
      where: 'actions.group (defaults)',
      message:
        'maps 1 of the 5 real events its subscription matches to a payload without a conditionally required field ' +
        "(first: spec-examples.json[3]): The root value is missing the required field 'domain'. The root value must " +
        'match "then" schema.'
    })
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
        'a folder without .ndjson or .json files',
        () => folder('no-events', { 'events.txt': '{}' }),
        (dir) =>
          `--events ${dir}: the folder holds no .ndjson files (one Segment event per line) or .json files (an array of events).`
      ],
      [
        'a folder whose .ndjson and .json files are empty',
        () => folder('empty-events', { 'a.ndjson': '\n\n', 'b.json': '[]' }),
        (dir) => `--events ${dir}: its .ndjson and .json files hold no Segment events.`
      ],
      [
        'a folder with a .json file that is not an array of events',
        () => folder('object-json', { 'events.json': '{}' }),
        () => 'events.json is not a JSON array of Segment events (objects).'
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
      const dir = folder('own-events', {
        'a.ndjson': `${JSON.stringify(events[0].event)}\n`,
        'b.json': JSON.stringify([events[1].event, events[2].event])
      })
      expect(defaultEvents(dir)).toEqual({
        events: [
          { source: 'a.ndjson:1', event: events[0].event },
          { source: 'b.json[0]', event: events[1].event },
          { source: 'b.json[1]', event: events[2].event }
        ],
        from: `3 real Segment events from ${path.relative(process.cwd(), dir)}`
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
