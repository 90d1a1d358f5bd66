import fs from 'fs'
import path from 'path'
import puppeteer from 'puppeteer-core'
import type { Browser, Page } from 'puppeteer-core'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'

// The Actions Tester in a real browser: Debian's headless Chromium (`.ci/run` installs it when it is missing), driven
// over the DevTools protocol by puppeteer-core, against the sandbox and the server on free loopback ports.

jest.setTimeout(90_000)

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOT = path.join(__dirname, '..', 'docs', 'tester.png')

let sandbox: RunningSandbox
let server: RunningServer
let browser: Browser
let page: Page

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH.`
    )
  }
  sandbox = await startSandbox(0, { keys: ['pk_example_sandbox_key'] })
  process.env.KOALA_API_URL = sandbox.url
  server = await startServer(0)
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's own background connections are refused on this network; none of them is needed.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  await page.goto(`${server.url}/`)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await sandbox?.close()
  delete process.env.KOALA_API_URL
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

it('runs the track example: the request body shown is the body the sandbox received', async () => {
  await runExample('track', 'track.json', '.request-body')
  const [shown] = await texts('.request-body')
  expect(sandbox.received).toHaveLength(1)
  expect(JSON.parse(shown)).toStrictEqual(sandbox.received[0])
  expect(await texts('.response-status')).toEqual(['Koala answered 200 OK'])
  // The sandbox panel shows the same body under its person.
  await page.waitForSelector('.sandbox-body')
  expect((await texts('#sandbox-bodies h3'))[0]).toBe('person jordan.rivera@acme.example.com (1)')
  expect(JSON.parse((await texts('.sandbox-body'))[0])).toStrictEqual(sandbox.received[0])
  await page.screenshot({ path: SCREENSHOT })
})

it('runs the batch example: one row per event, 200, 200, 200 and 400 with the message', async () => {
  await runExample('track', 'batch.json', '#multistatus')
  expect(await texts('#multistatus .status')).toEqual(['200', '200', '200', '400'])
  const outcomes = await texts('#multistatus .outcome')
  expect(outcomes.slice(0, 3)).toEqual(['delivered', 'delivered', 'delivered'])
  expect(outcomes[3]).toBe(
    'failed: Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has ' +
      'neither. Map the Email field (for example to $.traits.email or $.context.traits.email), or send the ' +
      "profile_id from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's " +
      'profile_id.'
  )
})

it('points out a bad JSON edit where it is, and sends nothing', async () => {
  const before = sandbox.received.length
  const shownBefore = await page.$eval('#output', (node) => (node as HTMLElement).innerText)
  await page.$eval('#event', (node) => ((node as HTMLTextAreaElement).value = '{\n  "type": "track",\n  "event": }'))
  await page.click('#run')
  await page.waitForFunction(() => document.getElementById('event-error')?.textContent !== '')
  expect(await page.$eval('#event-error', (node) => node.textContent)).toMatch(
    /^The event is not valid JSON at line 3, column 12: /
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(sandbox.received).toHaveLength(before)
  expect(await page.$eval('#output', (node) => (node as HTMLElement).innerText)).toBe(shownBefore)
})

it('points out a bad mapping beside its field, sends nothing, and Reset to defaults clears it', async () => {
  await page.select('#action', 'track')
  await page.select('#example', 'track.json')
  const before = sandbox.received.length
  await page.$eval('#field-event', (node) => ((node as HTMLInputElement).value = '{"@path": "$.event"'))
  await page.click('#run')
  await page.waitForFunction(() => document.getElementById('field-event-error')?.textContent !== '')
  expect(await page.$eval('#field-event-error', (node) => node.textContent)).toMatch(
    /^The mapping of event is not valid JSON at line 1, column 20: /
  )
  expect(await page.$eval('#field-event', (node) => node.getAttribute('aria-invalid'))).toBe('true')
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(sandbox.received).toHaveLength(before)
  await page.click('#reset-mapping')
  expect(await page.$eval('#field-event', (node) => (node as HTMLInputElement).value)).toBe('{"@path":"$.event"}')
  expect(await page.$eval('#field-event-error', (node) => node.textContent)).toBe('')
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
