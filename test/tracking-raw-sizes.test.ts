import { readdirSync, readFileSync } from 'fs'
import path from 'path'
import { batchCallSizes, MAX_SERIALISED_PER_RAW_BYTE } from '../src/tracking/raw-sizes'

// The per-event 32 KB check serialises only the calls whose size as sent could be over it: these tests hold the sizes
// read off the bytes to each element's own text, and the bound to what JSON.stringify can write.

const FIXTURES = path.join(__dirname, 'destination', 'fixtures')
const events: unknown[] = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json'))
  .flatMap((file) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as unknown[])

/** A body made of `texts` as the batch's elements, each kept as written, with `gap` between the tokens around them. */
function body(texts: string[], gap = '', extra = '"sentAt":"2026-12-03T09:00:00.000Z"') {
  return Buffer.from(`{${gap}${extra},${gap}"batch"${gap}:${gap}[${gap}${texts.join(`${gap},${gap}`)}${gap}]${gap}}`)
}

const bytes = (text: string) => Buffer.byteLength(text)

test.each([
  ['compact', ''],
  ['spaced', ' \n\t\r ']
])('the real fixture events, %s: one size per event, its own bytes', (_name, gap) => {
  expect(events.length).toBeGreaterThan(40)
  const texts = events.map((event, index) => JSON.stringify(event, null, index % 2 ? 2 : undefined))
  const raw = body(texts, gap)
  expect(JSON.parse(raw.toString()).batch).toHaveLength(texts.length)
  expect(batchCallSizes(raw)).toEqual(texts.map(bytes))
})

test('strings holding quotes, backslashes, brackets and non-ASCII text do not end an element early', () => {
  const texts = [
    '{"a":"\\"}","b":"\\\\","c":"[{\\\\\\"","d":"é 😀 \\u00e9","e":["]","}"]}',
    '"just a string, with ] and }"',
    '12.5e3',
    'null',
    '[[],{},[{"x":"\\\\\\\\"}]]',
    '{}'
  ]
  const raw = body(texts, ' ')
  expect((JSON.parse(raw.toString()) as { batch: unknown[] }).batch).toHaveLength(6)
  expect(batchCallSizes(raw)).toEqual(texts.map(bytes))
})

test('the batch JSON.parse keeps: the last "batch" key; an empty one has no sizes', () => {
  expect(batchCallSizes(Buffer.from('{"batch":[{"a":1}],"x":{"batch":[1,2,3]},"batch":[ 1 ,{"b":"cc"}]}'))).toEqual([
    1, 10
  ])
  expect(batchCallSizes(Buffer.from('{"batch":[]}'))).toEqual([])
  expect(batchCallSizes(Buffer.from('{ "batch" : [ ] }'))).toEqual([])
})

test.each([
  ['a top-level key with an escape (it may spell batch)', '{"b\\u0061tch":[{"a":1}]}'],
  ['an escaped key beside the batch', '{"batch":[{"a":1}],"\\u0062atch":[]}'],
  ['no batch key', '{"calls":[{"a":1}]}'],
  ['a batch that is not an array', '{"batch":{"a":1}}'],
  ['not an object', '[{"batch":[]}]'],
  ['an empty object', '{}'],
  ['text cut short', '{"batch":[{"a":"b'],
  ['a member without a colon', '{"batch"[1]}']
])('%s: undefined (the caller serialises every call)', (_name, text) => {
  expect(batchCallSizes(Buffer.from(text))).toBeUndefined()
})

test.each([
  ['numbers written short', '{"n":[9e20,1e20,5e19,1E5,1e-6,-9e20]}'],
  ['one big number', '9e20'],
  ['escapes, which shrink', '{"s":"\\u00e9\\/\\n\\u0001\\ud800"}'],
  ['invalid UTF-8 bytes', Buffer.from([0x22, 0xff, 0xfe, 0xe2, 0x82, 0x22])]
])('the bound holds for %s', (_name, text) => {
  const raw = Buffer.isBuffer(text) ? text : Buffer.from(text)
  const serialised = Buffer.byteLength(JSON.stringify(JSON.parse(raw.toString('utf8'))))
  expect(serialised).toBeLessThanOrEqual(raw.length * MAX_SERIALISED_PER_RAW_BYTE)
})

test('the bound is reached: 9e20 is written in 21 bytes', () => {
  expect(Buffer.byteLength(JSON.stringify(JSON.parse('9e20')))).toBe(4 * MAX_SERIALISED_PER_RAW_BYTE)
})
