import * as fs from 'fs'
import puppeteer from 'puppeteer-core'
import type { Browser } from 'puppeteer-core'

/** Debian's Chromium (`apt-get install chromium`), or `CHROMIUM_PATH`. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Headless Chromium for the browser tests. Its own background connections are refused on this machine's network and
 * none is needed, so they are off; `args` adds to them (e.g. `--host-resolver-rules`).
 * @throws Error naming the path and the fix when there is no Chromium there.
 */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH.`
    )
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args
    ]
  })
}
