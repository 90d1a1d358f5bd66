import { buildMetadata } from '../src/cli/lib/metadata'

import { brokenCopy, real } from './support/definitions'

// `generate:metadata`: metadata.json in the monorepo generator's shape.

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
          description: 'Your Koala Public Key, in Koala under Settings > Install.',
          type: 'password',
          required: true,
          multiple: false,
          choices: null,
          default: null,
          depends_on: null
        },
        secret_key: {
          label: 'Secret Key',
          description:
            'Only for deletion requests (GDPR/CCPA): a secret API key, created in Koala under Settings > API Keys. ' +
            'Koala deletes people by email, so a deletion request reaches Koala only when its userId is an email ' +
            'address. Events need the Public Key alone.',
          type: 'password',
          required: false,
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
    expect(metadata.authentication?.fields.secret_key).not.toHaveProperty('format')
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
