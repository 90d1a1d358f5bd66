import fs from 'fs'
import path from 'path'
import { fieldsToJsonSchema } from '@segment/actions-core'
import destination from '../src/destinations/koala-cloud'
import { recordKoala, runBatch, runEvent, identifyEvent, trackEvent, useNock } from './destination/helpers'

const repoRoot = path.join(__dirname, '..')

/**
 * actions-core validates every payload with ajv under the schema key `${destination name}:${action title}`, here
 * `Koala (Cloud):Identify`. ajv resolves that key as a URI with fast-uri; a fast-uri release that reads
 * `Koala (Cloud)` as a malformed URI scheme makes every event fail with `URI scheme is malformed.`. package.json pins
 * the version that accepts it (`overrides`); these tests catch a drift of the pin or of the installed package.
 */

useNock()

/** fast-uri exactly as ajv (inside actions-core) loads it. */
const ajvDir = path.dirname(require.resolve('ajv/package.json', { paths: [require.resolve('@segment/actions-core')] }))
const fastUriPackage = require.resolve('fast-uri/package.json', { paths: [ajvDir] })

describe('fast-uri drift', () => {
  it('package.json pins fast-uri 3.1.5, and that is the version ajv loads', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      overrides?: Record<string, string>
    }
    expect(pkg.overrides?.['fast-uri']).toBe('3.1.5')
    const installed = JSON.parse(fs.readFileSync(fastUriPackage, 'utf8')) as { version: string }
    expect(installed.version).toBe('3.1.5')
  })

  it('the schema keys of both actions parse as URIs without an error', async () => {
    const fastUri = (await import(path.dirname(fastUriPackage))) as {
      parse: (uri: string) => { error?: string }
    }
    for (const action of Object.values(destination.actions)) {
      expect(fastUri.parse(`${destination.name}:${action.title}`).error).toBeUndefined()
    }
  })

  it('the framework validates an identify and a track for "Koala (Cloud)" and runs them', async () => {
    expect(destination.name).toBe('Koala (Cloud)')
    const received = recordKoala()

    await expect(runEvent('identify', identifyEvent('m1', { email: 'ann@example.com' }))).resolves.toMatchObject({
      output: { ok: true }
    })
    await expect(
      runEvent('track', trackEvent('t1', 'Clicked', {}, { email: 'ann@example.com' }))
    ).resolves.toMatchObject({
      output: { ok: true }
    })
    expect(received).toHaveLength(2)
  })

  it('batch validation works too: no payload fails with "URI scheme is malformed."', async () => {
    recordKoala()
    const multistatus = await runBatch('identify', [identifyEvent('m1', { email: 'ann@example.com' })])
    expect(multistatus).toHaveLength(1)
    expect(multistatus[0]).toMatchObject({ status: 200 })
    expect(JSON.stringify(multistatus)).not.toContain('URI scheme is malformed.')
  })

  it('the action schemas compile (fieldsToJsonSchema)', () => {
    for (const action of Object.values(destination.actions)) {
      expect(fieldsToJsonSchema(action.fields)).toMatchObject({ type: 'object' })
    }
  })
})
