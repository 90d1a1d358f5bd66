import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { DEFAULT_JOURNAL_DIR, journalDir, trackingOptions } from '../src/cli/lib/local-tracking'
import { PROJECT_ROOT } from '../src/lib/paths'
import { Pipeline } from '../src/tracking/pipeline'

// `npm start -- --config --write-key --retry-window --flush-interval`: read and refused before anything starts.

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tracking-config-'))
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }))

function file(name: string, text: string): string {
  const where = path.join(folder, name)
  fs.writeFileSync(where, text)
  return where
}

test('a config in the Tester shape sets the settings and overrides mapping fields', () => {
  const config = file(
    'ok.json',
    '{"settings": {"public_key": "pk_cfg"}, "mappings": {"track": {"enable_batching": false}}}'
  )
  const options = trackingOptions({
    config,
    writeKey: 'wk',
    retryWindow: '5',
    flushInterval: '250',
    maxRecords: '20000',
    journal: folder
  })
  expect(options).toEqual({
    config: { settings: { public_key: 'pk_cfg' }, mappings: { track: { enable_batching: false } } },
    writeKey: 'wk',
    retryWindowMs: 5000,
    flushIntervalMs: 250,
    keep: 20_000,
    journalDir: folder
  })
  const pipeline = new Pipeline(options)
  expect(pipeline.routes.find((route) => route.action === 'track')?.batching).toBe(false)
})

test('the journal: --journal, else KOALA_JOURNAL_DIR, else .koala-local/journal; --no-journal or "off" keeps none', () => {
  const saved = process.env.KOALA_JOURNAL_DIR
  try {
    process.env.KOALA_JOURNAL_DIR = '/tmp/from-env'
    expect([journalDir('given'), journalDir(undefined), journalDir(false)]).toEqual([
      path.resolve('given'),
      '/tmp/from-env',
      undefined
    ])
    process.env.KOALA_JOURNAL_DIR = 'off'
    expect(journalDir(undefined)).toBeUndefined()
    process.env.KOALA_JOURNAL_DIR = ' '
    expect(journalDir(undefined)).toBe(path.join(PROJECT_ROOT, '.koala-local', 'journal'))
    expect(DEFAULT_JOURNAL_DIR).toBe(path.join(PROJECT_ROOT, '.koala-local', 'journal'))
  } finally {
    process.env.KOALA_JOURNAL_DIR = saved
  }
})

test.each([
  ['not JSON', '{"settings": ', /^--config .*bad\.json: Unexpected end of JSON input$/],
  ['not the shape', '{"settings": "pk"}', /give a JSON object \{"settings": \{"public_key": "\.\.\."\}, "mappings"/],
  [
    'misspelt',
    '{"setings": {}}',
    /: It has "setings" \(did you mean "settings"\?\), which it may not have; it may have "settings" and "mappings"\.$/
  ]
])('a config that is %s stops the start with the file named', (_name, text, message) => {
  const config = file('bad.json', text)
  expect(() => trackingOptions({ config })).toThrow(message)
})

test('a mapping the framework would refuse, or an unknown action, is named', () => {
  expect(() => new Pipeline({ config: { mappings: { group: { domain: { '@path': 42 } } } } })).toThrow(
    /^--config: the mapping of group is not valid: /
  )
  expect(() => new Pipeline({ config: { mappings: { screen: {} } } })).toThrow(
    '--config: "mappings" names the action "screen", which the destination does not have; its actions are identify, track, page, group.'
  )
})

test('a mapping key that is no field of the action, or a number out of its field’s bounds, is named', () => {
  expect(() => new Pipeline({ config: { mappings: { identify: { emial: { '@path': '$.traits.email' } } } } })).toThrow(
    '--config: the mapping of identify is not valid: It has "emial" (did you mean "email"?), which the action does ' +
      'not have; its fields are "email", "profile_id", "traits", "sent_at", "context", "device_ip", "message_id", ' +
      '"enable_batching" and "batch_size".'
  )
  expect(() => new Pipeline({ config: { mappings: { track: { batch_size: 5000 } } } })).toThrow(
    '--config: the mapping of track is not valid: batch_size (Batch Size) is 5000; it takes 1 to 1000.'
  )
})

test('--retry-window and --flush-interval must be numbers above 0', () => {
  expect(() => trackingOptions({ retryWindow: '0' })).toThrow('--retry-window: "0" is not a number above 0.')
  expect(() => trackingOptions({ flushInterval: 'soon' })).toThrow('--flush-interval: "soon" is not a number above 0.')
})

test('--max-records is a whole number from 1 to 1,000,000; 10,000 without it', () => {
  expect(trackingOptions({}).keep).toBe(10_000)
  for (const value of ['0', '2.5', 'all', '1000001']) {
    expect(() => trackingOptions({ maxRecords: value })).toThrow(
      `--max-records: "${value}" is not a whole number from 1 to 1,000,000.`
    )
  }
})

test('enable_batching in a config is read as the framework reads a boolean field, and anything else is named', () => {
  const batchingOf = (value: unknown) =>
    new Pipeline({ config: { mappings: { track: { enable_batching: value as boolean } } } }).routes.find(
      (route) => route.action === 'track'
    )?.batching
  expect([batchingOf('true'), batchingOf(1), batchingOf('false'), batchingOf(0), batchingOf(null)]).toEqual([
    true,
    true,
    false,
    false,
    false
  ])
  expect(() => batchingOf('yes')).toThrow(
    '--config: the mapping of track is not valid: "enable_batching" in the mapping is "yes"; it must be true ' +
      '(Segment may send batches) or false (one event per request). The framework also reads "true", "false", 1 and 0 as those.'
  )
})
