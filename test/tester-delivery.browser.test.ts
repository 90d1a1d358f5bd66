import fs from 'fs'
import path from 'path'
import type { Browser, Page } from 'puppeteer-core'
import { createHarness } from '../src/harness'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import { deliveriesFor } from '../src/tracking/deliveries'
import { startTrackingApi } from '../src/tracking/tracking-api'
import type { RunningTrackingApi } from '../src/tracking/tracking-api'
import { nodeClient } from './support/tracking'
import { launchChromium } from './support/chromium'

// The Tester's Event Delivery section in Debian's headless Chromium, over 10,000 records: filters by outcome, action
// and text kept in the URL (so a view can be shared), one record's JSON with a copy button, pages of 50, and a list
// that refreshes itself while events are pending. Then the Tester's defects of issue 23: code spans in descriptions,
// long mappings read whole, times on one line, a misspelt directive named at once, a refused event's request and
// answer. Each state is asserted by the text a user reads and pictured in test-output/tester/ (git-ignored).

jest.setTimeout(120_000)

const SCREENSHOTS = path.join(__dirname, '..', 'test-output', 'tester')
const KEY = 'pk_example_sandbox_key'

let sandbox: RunningSandbox
let api: RunningTrackingApi
let server: RunningServer
let browser: Browser
let page: Page

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  sandbox = await startSandbox(0, { keys: [KEY] })
  const harness = createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url })
  // Batches wait for the pipeline to drain: the test decides when the pending events are delivered.
  api = await startTrackingApi(0, { harness, flushIntervalMs: 600_000, config: { settings: { public_key: KEY } } })
  server = await startServer(0, {
    harness,
    deliveries: (query) => ({ url: `${api.url}/v1`, ...deliveriesFor(api.pipeline, query, 50) })
  })
  const arrival = { receivedAt: new Date('2026-12-07T10:00:00.000Z'), clientSide: false }
  // 10,005 alias calls, each unsubscribed at once, and 3 calls from analytics-node: 10,000 records are kept, the 8
  // oldest dropped.
  for (let n = 1; n <= 10_005; n++) {
    api.pipeline.ingest({ type: 'alias', messageId: `alias-${n}`, userId: `u-${n}`, previousId: `p-${n}` }, arrival)
  }
  const analytics = nodeClient(api, 10)
  analytics.identify({ userId: 'ada', messageId: 'ada-identify', traits: { email: 'ada@example.com' } })
  analytics.identify({ userId: 'grace', messageId: 'grace-identify', traits: { email: 'grace@example.com' } })
  analytics.track({ anonymousId: 'anon-1', messageId: 'anon-track', event: 'Viewed Pricing' })
  await analytics.closeAndFlush({ timeout: 10_000 })
  browser = await launchChromium()
  await browser
    .defaultBrowserContext()
    .overridePermissions(server.url, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write'])
  page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 900 })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await api?.close()
  await sandbox?.close()
})

const texts = (selector: string) =>
  page.$$eval(selector, (nodes) => nodes.map((node) => (node as HTMLElement).innerText))
const text = (selector: string) => page.$eval(selector, (node) => (node as HTMLElement).innerText)
const picture = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
const rows = () =>
  page.$$eval('#delivery-events details', (nodes) => nodes.map((node) => node.getAttribute('data-outcome')))
const search = () => page.evaluate(() => location.search)

async function waitForStatus(start: string): Promise<void> {
  await page.waitForFunction(
    (prefix: string) => document.getElementById('delivery-status')?.textContent?.startsWith(prefix),
    { timeout: 20_000 },
    start
  )
}

test('pending events: the list says so and refreshes itself until each has its outcome', async () => {
  await page.goto(`${server.url}/`)
  await page.waitForSelector('#delivery-events details')
  expect(await text('#delivery-pending')).toBe(
    '3 events waiting (buffered or to be retried): this list refreshes itself every second until none is.'
  )
  await picture('delivery-pending')
  await api.pipeline.drain()
  // No click: the page asks again by itself.
  await page.waitForFunction(() => document.getElementById('delivery-pending')?.textContent?.startsWith('0 events'), {
    timeout: 20_000
  })
  expect(await text('#delivery-status')).toBe(
    `Point Segment's libraries at ${api.url}/v1: 10008 events so far, the last 50 below (newest first). ` +
      '8 older records were dropped (at most 10000 are kept).'
  )
})

test('10,000 records, a page of 50 at a time: Older and Newer', async () => {
  expect(await rows()).toHaveLength(50)
  expect(await text('#delivery-page')).toBe('records 10008 to 9959')
  await page.click('#delivery-older')
  await page.waitForFunction(() => document.getElementById('delivery-page')?.textContent === 'records 9958 to 9909')
  expect(await rows()).toHaveLength(50)
  expect(await search()).toBe('?cursor=9959')
  await page.click('#delivery-newer')
  await page.waitForFunction(() => document.getElementById('delivery-page')?.textContent === 'records 10008 to 9959')
  expect(await search()).toBe('')
  await picture('delivery-10000')
})

test('filters by outcome, then action, then text; the filter is in the URL', async () => {
  await page.select('#delivery-outcome', 'failed')
  await waitForStatus('1 event match')
  expect(await text('#delivery-status')).toBe(
    '1 event match the filter; 1 below (newest first). 8 older records were dropped (at most 10000 are kept).'
  )
  expect(await rows()).toEqual(['failed'])
  expect(await search()).toBe('?outcome=failed')
  await picture('delivery-failed')

  await page.select('#delivery-outcome', '')
  await page.select('#delivery-action', 'identify')
  await waitForStatus('2 events match')
  expect(await rows()).toEqual(['delivered', 'delivered'])
  expect(await search()).toBe('?action=identify')

  await page.type('#delivery-text', 'GRACE')
  await waitForStatus('1 event match')
  expect((await texts('#delivery-events summary .delivery-line'))[0]).toMatch(
    /^delivered identify → identify · grace-identify · 1 attempt · \d{4}-/
  )
  expect(await search()).toBe('?action=identify&q=GRACE')
  await picture('delivery-text-filter')
})

test("one record's event, Koala request and answer as JSON; Copy puts it on the clipboard; the URL opens it", async () => {
  await page.click('#delivery-events summary')
  await page.waitForSelector('#delivery-events details[open] pre.record-json')
  const shown = JSON.parse(await text('#delivery-events details[open] pre.record-json')) as {
    event: { messageId: string }
    request: { body: { email: string } }
    response: { status: number; body: unknown }
  }
  expect(shown.event.messageId).toBe('grace-identify')
  expect(shown.request.body.email).toBe('grace@example.com')
  expect(shown.response).toEqual({ status: 200, body: { ok: true } })
  const id = await page.$eval('#delivery-events details[open]', (node) => node.getAttribute('data-id'))
  expect(await search()).toBe(`?action=identify&q=GRACE&record=${id}`)
  await page.bringToFront()
  await page.click('#delivery-events details[open] .copy-json')
  await page.waitForFunction(() => document.querySelector('details[open] .copy-note')?.textContent !== '')
  expect(await text('#delivery-events details[open] .copy-note')).toBe('Copied.')
  const copied = await page.evaluate(() => navigator.clipboard.readText())
  expect(JSON.parse(copied)).toEqual(shown)
  await picture('delivery-json')

  // The shared URL, in another tab: the same filter, the same record open.
  const url = await page.evaluate(() => location.href)
  const other = await browser.newPage()
  await other.setViewport({ width: 1280, height: 900 })
  await other.goto(url)
  await other.waitForSelector('#delivery-events details[open] pre.record-json')
  expect(await other.$eval('#delivery-action', (node) => (node as HTMLSelectElement).value)).toBe('identify')
  expect(await other.$eval('#delivery-text', (node) => (node as HTMLInputElement).value)).toBe('GRACE')
  expect(JSON.parse(await other.$eval('details[open] pre.record-json', (node) => node.textContent ?? ''))).toEqual(
    shown
  )
  await other.screenshot({ path: path.join(SCREENSHOTS, 'delivery-shared-url.png'), fullPage: true })
  await other.close()
  await page.click('#delivery-clear-filters')
  await waitForStatus("Point Segment's libraries")
  expect(await search()).toBe('')
})

test('times in Event Delivery rows stay on one line, even in a narrow window', async () => {
  await page.setViewport({ width: 700, height: 900 })
  const lines = await page.$$eval('#delivery-events .delivery-time', (nodes) =>
    nodes.map((node) => {
      const range = document.createRange()
      range.selectNodeContents(node)
      return new Set(Array.from(range.getClientRects()).map((rect) => Math.round(rect.top))).size
    })
  )
  expect(lines).toHaveLength(50)
  expect(new Set(lines)).toEqual(new Set([1]))
  await picture('delivery-narrow')
  await page.setViewport({ width: 1280, height: 900 })
})

describe("the Tester's defects of issue 23", () => {
  beforeAll(async () => {
    await page.goto(`${server.url}/`)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
    await page.select('#action', 'track')
  })

  test('descriptions show code spans as code, not backticks', async () => {
    const help = await text('#field-email-help')
    expect(help).not.toContain('`')
    expect(help).toContain('the email inside the mapped Event properties is used')
    expect(await texts('#field-email-help code')).toEqual(['email'])
    await picture('issue23-code-spans')
  })

  test('a long default mapping is read whole: its box wraps and grows, nothing is cut off', async () => {
    const box = await page.$eval('#field-profile_id', (node) => ({
      tag: node.tagName,
      value: (node as HTMLTextAreaElement).value,
      fits: node.scrollHeight <= node.clientHeight + 2 && node.scrollWidth <= node.clientWidth
    }))
    expect(box.tag).toBe('TEXTAREA')
    expect(box.value.startsWith('{"@if":')).toBe(true)
    expect(box.value.length).toBeGreaterThan(150)
    expect(box.fits).toBe(true)
    await picture('issue23-long-mapping')
  })

  test('a pasted {"@pth": ...} is named at once, with the directive it means', async () => {
    const expected =
      '"@pth" is not a mapping directive, so the mapping would fail when the event runs. Did you mean "@path"? ' +
      'Write {"@path":"$.traits.email"}.'
    await page.click('#mapping-json')
    await page.keyboard.type('{"email": {"@pth": "$.traits.email"}}')
    expect(await text('#mapping-json-directives')).toBe(expected)
    await page.click('#apply-mapping')
    expect(await text('#field-email-directive')).toBe(expected)
    await picture('issue23-misspelt-directive')
    await page.click('#reset-mapping')
    expect(await text('#field-email-directive')).toBe('')
  })

  test("a single event Koala refused shows the request and Koala's answer", async () => {
    await page.$eval('#setting-public_key', (node) => ((node as HTMLInputElement).value = 'pk_not_a_sandbox_key'))
    await page.select('#action', 'identify')
    await page.select('#example', 'identify.json')
    await page.$eval('#output', (node) => node.replaceChildren())
    await page.click('#run')
    await page.waitForSelector('#summary', { timeout: 20_000 })
    expect(await text('#summary')).toBe('The event was refused (401): Koala did not get it.')
    expect(await texts('#results h3')).toEqual([
      expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/web\/projects\/pk_n…\/batch$/)
    ])
    expect(await texts('.response-status')).toEqual(['Koala answered 401 Unauthorized'])
    expect(JSON.parse((await texts('.request-body'))[0])).toMatchObject({ email: 'jordan.rivera@acme.example.com' })
    await picture('issue23-refused-event')
  })
})
