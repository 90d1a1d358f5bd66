import { execFileSync } from 'child_process'
import fs from 'fs'
import path from 'path'
import type { Browser, Page } from 'puppeteer-core'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { createHarness } from '../src/harness'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import { launchChromium } from './support/chromium'

// The Actions Tester in a real browser: Debian's headless Chromium (`.ci/run` installs it when it is missing), driven
// over the DevTools protocol by puppeteer-core, against the sandbox and the server on free loopback ports. Each state
// a user meets is asserted by the text they read and pictured in test-output/tester/ (git-ignored: a test run leaves
// the tree as it was). `npm run screenshot` copies track.png to docs/tester.png, the README's picture.

jest.setTimeout(90_000)

const ROOT = path.join(__dirname, '..')
const SCREENSHOTS = path.join(ROOT, 'test-output', 'tester')

let sandbox: RunningSandbox
let server: RunningServer
let browser: Browser
let page: Page

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  sandbox = await startSandbox(0, { keys: ['pk_example_sandbox_key'] })
  server = await startServer(0, { harness: createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url }) })
  browser = await launchChromium()
  page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  await page.goto(`${server.url}/`)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await sandbox?.close()
})

/** Chooses an action and an example, runs it and waits for the answer to be rendered. */
async function runExample(action: string, example: string, rendered: string): Promise<void> {
  await page.select('#action', action)
  await page.select('#example', example)
  await page.click('#run')
  await page.waitForSelector(rendered, { timeout: 20_000 })
}

const texts = (selector: string) =>
  page.$$eval(selector, (nodes) => nodes.map((node) => (node as HTMLElement).innerText))
const text = (selector: string) => page.$eval(selector, (node) => (node as HTMLElement).innerText)

/** A picture of the whole page in this state, for a person to look at: test-output/tester/<name>.png. */
const picture = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })

/** Replaces an editor's text as a user would: select all, type (so the page sees the input events). */
async function typeInto(selector: string, value: string): Promise<void> {
  await page.click(selector, { clickCount: 3 })
  await page.keyboard.down('Control')
  await page.keyboard.press('A')
  await page.keyboard.up('Control')
  await page.keyboard.press('Backspace')
  await page.keyboard.type(value)
}

/** Sets the event editor's text (long JSON: not typed key by key). */
const setEvent = (payload: unknown) =>
  page.$eval('#event', (node, value) => ((node as HTMLTextAreaElement).value = value), JSON.stringify(payload, null, 2))

/** Runs what the page holds and waits for the answer's summary. */
async function run(): Promise<string> {
  await page.$eval('#output', (node) => node.replaceChildren())
  await page.click('#run')
  await page.waitForSelector('#summary', { timeout: 20_000 })
  return text('#summary')
}

/** How many lines the text of each element matching `selector` takes on screen. */
const lineCounts = (selector: string) =>
  page.$$eval(selector, (nodes) =>
    nodes.map((node) => {
      const range = document.createRange()
      range.selectNodeContents(node)
      return new Set(Array.from(range.getClientRects()).map((rect) => Math.round(rect.top))).size
    })
  )

const example = (file: string) =>
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as { payload: unknown }).payload

it('renders every action of /manifest, and each field of the chosen one in the definition’s order', async () => {
  const manifest = (await (await fetch(`${server.url}/manifest`)).json()) as {
    actions: Record<string, { title: string; fields: Record<string, { label: string }> }>
  }
  expect(await page.$$eval('#action option', (options) => options.map((option) => option.textContent))).toEqual(
    Object.values(manifest.actions).map((action) => action.title)
  )
  await page.select('#action', 'track')
  const labels = await page.$$eval('#fields label', (nodes) => nodes.map((node) => node.childNodes[0].textContent))
  expect(labels).toEqual(Object.values(manifest.actions.track.fields).map((field) => field.label))
  expect(await page.$eval('#setting-public_key', (input) => (input as HTMLInputElement).type)).toBe('password')
})

it('runs the track example: says it was delivered, and the request body shown is the body the sandbox received', async () => {
  await runExample('track', 'track.json', '.request-body')
  expect(await text('#summary')).toBe('The event was delivered: Koala answered 200.')
  const [shown] = await texts('.request-body')
  expect(sandbox.received).toHaveLength(1)
  expect(JSON.parse(shown)).toStrictEqual(sandbox.received[0])
  expect(await texts('.response-status')).toEqual(['Koala answered 200 OK'])
  // The sandbox panel shows the same body under its person.
  await page.waitForSelector('.sandbox-body')
  expect((await texts('#sandbox-bodies h3'))[0]).toBe('person jordan.rivera@acme.example.com (1)')
  expect(JSON.parse((await texts('.sandbox-body'))[0])).toStrictEqual(sandbox.received[0])
  // The README's picture (npm run screenshot copies it to docs/tester.png): the first screen, as a user sees it.
  await page.screenshot({ path: path.join(SCREENSHOTS, 'track.png') })
})

it('a batch: counts per outcome at the top, then one readable row per event', async () => {
  await page.select('#action', 'track')
  await page.select('#example', 'batch.json')
  // The batch example (3 delivered, 1 with no person) and an analytics.js track, which the destination skips.
  await setEvent([...(example('batch.json') as unknown[]), example('track-analytics-js.json')])
  expect(await run()).toBe('5 events: 3 delivered, 1 skipped, 1 refused.')
  expect(await texts('#multistatus th')).toEqual(['#', 'messageId', 'status', 'outcome', 'details'])
  expect(await texts('#multistatus .status')).toEqual(['200', '200', '200', '400', '200'])
  expect(await texts('#multistatus .outcome')).toEqual(['delivered', 'delivered', 'delivered', 'refused', 'skipped'])
  expect(await texts('#multistatus .message-id')).toEqual([
    'example-batch-0001',
    'example-batch-0002',
    'example-batch-0003',
    'example-batch-0004',
    'example-ajs-0001'
  ])
  const details = await texts('#multistatus .details')
  expect(details).toEqual([
    '',
    '',
    '',
    'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither. Map ' +
      'the Email field (for example to $.traits.email), or send the profile_id of the ko_id cookie in the Koala ' +
      "Profile ID field: Segment's anonymousId is not Koala's profile_id.",
    'This track event comes from analytics.js, and the Koala pixel in the browser already collects it. Sending it ' +
      'again from Segment would count it twice in Koala.'
  ])
  // Headers, statuses and outcomes on one line each (they once wrapped as "ev/en/t" and "20/0").
  for (const selector of ['#multistatus th', '#multistatus .status', '#multistatus .outcome']) {
    expect(await lineCounts(selector)).toEqual((await texts(selector)).map(() => 1))
  }
  // The table comes before the requests, so a long batch does not push it out of sight.
  expect(
    await page.$eval('#output', (node) =>
      Array.from(node.children).map((child) => child.id || child.className.split(' ')[0])
    )
  ).toEqual(['summary', 'table-box', 'exchange', 'exchange'])
  await picture('batch')
})

it('a bad JSON edit of the event: pointed out where it is, nothing sent, the previous answer cleared', async () => {
  await runExample('track', 'track.json', '.request-body')
  const before = sandbox.received.length
  await page.$eval('#event', (node) => ((node as HTMLTextAreaElement).value = '{\n  "type": "track",\n  "event": }'))
  await page.click('#run')
  await page.waitForFunction(() => document.getElementById('event-error')?.textContent !== '')
  expect(await text('#event-error')).toMatch(/^The event is not valid JSON at line 3, column 12: \S/)
  expect(await text('#output')).toBe('Nothing was sent: the event is not valid JSON (see under it).')
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(sandbox.received).toHaveLength(before)
  await picture('bad-event-json')
})

it('a bad mapping: pointed out beside its field, nothing sent, the previous answer cleared; Reset clears it', async () => {
  await runExample('track', 'track.json', '.request-body')
  const before = sandbox.received.length
  await typeInto('#field-event', '{"@path": "$.event"')
  await page.click('#run')
  await page.waitForFunction(() => document.getElementById('field-event-error')?.textContent !== '')
  const error = await text('#field-event-error')
  expect(error).toMatch(/^The mapping of event is not valid JSON at line 1, column 20: \S/)
  expect(error).toMatch(
    /\. A path is written \$\.traits\.email or \{"@path": "\$\.traits\.email"\}, a text in double quotes \("Signed Up"\)\.$/
  )
  expect(await page.$eval('#field-event', (node) => node.getAttribute('aria-invalid'))).toBe('true')
  expect(await text('#output')).toBe('Nothing was sent: the mapping of event is not valid (see beside the field).')
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(sandbox.received).toHaveLength(before)
  await picture('bad-mapping-json')
  await page.click('#reset-mapping')
  expect(await page.$eval('#field-event', (node) => (node as HTMLInputElement).value)).toBe('{"@path":"$.event"}')
  expect(await page.$eval('#field-event-error', (node) => node.textContent)).toBe('')
})

it('keeps the mapping edits of each action while the user switches actions and back', async () => {
  await page.select('#action', 'track')
  await typeInto('#field-event', '"Report Downloaded"')
  await page.select('#action', 'identify')
  await typeInto('#field-email', '$.traits.work_email')
  await page.select('#action', 'track')
  expect(await page.$eval('#field-event', (node) => (node as HTMLInputElement).value)).toBe('"Report Downloaded"')
  await picture('edits-kept')
  await page.select('#action', 'identify')
  expect(await page.$eval('#field-email', (node) => (node as HTMLInputElement).value)).toBe('$.traits.work_email')
  // Reset to defaults discards the shown action's edits only.
  await page.click('#reset-mapping')
  expect(await page.$eval('#field-email', (node) => (node as HTMLInputElement).value)).not.toBe('$.traits.work_email')
  await page.select('#action', 'track')
  expect(await page.$eval('#field-event', (node) => (node as HTMLInputElement).value)).toBe('"Report Downloaded"')
  await page.click('#reset-mapping')
})

it('reads a bare path typed as a mapping value as its @path directive', async () => {
  await page.select('#action', 'track')
  await page.select('#example', 'track.json')
  const event = example('track.json') as { context: { traits: Record<string, unknown> }; properties: object }
  await setEvent({ ...event, properties: { ...event.properties, contact: 'Pat.Lee@Initech.example.com' } })
  await typeInto('#field-email', '$.properties.contact')
  const before = sandbox.received.length
  expect(await run()).toBe('The event was delivered: Koala answered 200.')
  expect(sandbox.received).toHaveLength(before + 1)
  expect((sandbox.received[before] as { email: string }).email).toBe('pat.lee@initech.example.com')
  expect(await page.$eval('#field-email-error', (node) => node.textContent)).toBe('')
  await picture('bare-path')
  await page.click('#reset-mapping')
})

it('warns about a pasted mapping key that is no field of the action, and applies the others', async () => {
  await page.select('#action', 'track')
  await typeInto('#mapping-json', '{"emial": {"@path": "$.traits.email"}, "event": {"@path": "$.properties.name"}}')
  await page.click('#apply-mapping')
  expect(await texts('#mapping-json-warning p')).toEqual([
    'emial is no field of Track: it was not applied. Email keeps its mapping. Did you mean email?'
  ])
  expect(await page.$eval('#field-event', (node) => (node as HTMLInputElement).value)).toBe(
    '{"@path":"$.properties.name"}'
  )
  await picture('unknown-mapping-key')
  await page.click('#reset-mapping')
  expect(await texts('#mapping-json-warning p')).toEqual([])
  await typeInto('#mapping-json', '')
})

it('a group refused for a bad domain says the value is not a domain and what a valid one looks like', async () => {
  await page.select('#action', 'group')
  await page.select('#example', 'group.json')
  const event = example('group.json') as { traits: object }
  await setEvent({ ...event, traits: { ...event.traits, website: 'http://203.0.113.7/' } })
  const before = sandbox.received.length
  expect(await run()).toBe('The event was refused (400): Koala did not get it.')
  expect(await texts('#output .error')).toEqual([
    '400: The Company Domain field "http://203.0.113.7/" is not a domain. Koala needs the company\'s web address, ' +
      'such as acme.com (a URL such as https://www.acme.com/about works too), or the Koala Account ID field.'
  ])
  expect(sandbox.received).toHaveLength(before)
  await picture('bad-domain')
})

it('sends the group example to the accounts endpoint and shows the company in the sandbox panel', async () => {
  await runExample('group', 'group.json', '.request-body')
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('#sandbox-bodies h3')).some((node) => node.textContent?.startsWith('company'))
  )
  expect((await texts('#results h3'))[0]).toMatch(
    /^POST http:\/\/127\.0\.0\.1:\d+\/web\/projects\/pk_e…\/accounts\/batch$/
  )
  expect((await texts('#sandbox-bodies h3'))[0]).toBe('company acme.example.com (1)')
})

it('writes its pictures where git ignores them, so a test run leaves the tree as it was', () => {
  expect(fs.readdirSync(SCREENSHOTS).sort()).toEqual(
    expect.arrayContaining(['bad-domain.png', 'batch.png', 'track.png', 'unknown-mapping-key.png'])
  )
  // Exit code 0: ignored (git check-ignore exits 1 for a path it would track).
  expect(() =>
    execFileSync('git', ['check-ignore', '-q', path.join(SCREENSHOTS, 'track.png')], { cwd: ROOT })
  ).not.toThrow()
})
