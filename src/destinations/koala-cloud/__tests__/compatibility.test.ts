import { defaultValues, Destination } from '@segment/actions-core'
import destination from '../index'

// Koala (Cloud) replaces the published destination of the same name in Segment's monorepo, under its registration
// id: customers' saved settings and mappings must keep working. The published definition, written out (monorepo at
// 970a17ee8d, packages/destination-actions/src/destinations/koala/): every key, with its type, requirement and
// default mapping.
const ifExists = (first: string, second: string) => ({
  '@if': { exists: { '@path': first }, then: { '@path': first }, else: { '@path': second } }
})
const PUBLISHED = {
  identify: {
    email: { type: 'string', required: false, default: ifExists('$.traits.email', '$.email') },
    traits: { type: 'object', required: false, default: { '@path': '$.traits' } },
    sent_at: { type: 'string', required: true, default: { '@path': '$.timestamp' } },
    context: { type: 'object', required: false, default: { '@path': '$.context' } },
    device_ip: { type: 'string', required: false, default: { '@path': '$.context.ip' } },
    message_id: { type: 'string', required: true, default: { '@path': '$.messageId' } }
  },
  track: {
    email: { type: 'string', required: false, default: ifExists('$.traits.email', '$.email') },
    event: { type: 'string', required: true, default: { '@path': '$.event' } },
    properties: { type: 'object', required: false, default: { '@path': '$.properties' } },
    sent_at: { type: 'string', required: true, default: { '@path': '$.timestamp' } },
    context: { type: 'object', required: false, default: { '@path': '$.context' } },
    traits: { type: 'object', required: false, default: { '@path': '$.context.traits' } },
    device_ip: { type: 'string', required: false, default: { '@path': '$.context.ip' } },
    message_id: { type: 'string', required: true, default: { '@path': '$.messageId' } }
  }
} as const

describe('the successor of the published Koala (Cloud)', () => {
  it('keeps its name, slug, mode and setting; the one setting added is optional', () => {
    expect({ name: destination.name, slug: destination.slug, mode: destination.mode }).toEqual({
      name: 'Koala (Cloud)',
      slug: 'actions-koala-cloud',
      mode: 'cloud'
    })
    expect(Object.keys(destination.authentication?.fields ?? {})).toEqual(['public_key', 'secret_key'])
    expect(destination.authentication?.fields.public_key).toMatchObject({
      label: 'Public Key',
      description: 'Your public key',
      type: 'password',
      required: true
    })
    // Saved settings hold only public_key: a required new setting would make every one of them invalid.
    expect(destination.authentication?.fields.secret_key).toMatchObject({ type: 'password', required: false })
  })

  it('accepts settings saved before, which hold only the Public Key', () => {
    expect(() => new Destination(destination).validateSettings({ public_key: 'pk_saved_before' })).not.toThrow()
  })

  it('keeps its presets', () => {
    expect(destination.presets?.map((preset) => [preset.name, preset.partnerAction, preset.type])).toEqual([
      ['Track Calls', 'track', 'automatic'],
      ['Identify Calls', 'identify', 'automatic']
    ])
  })

  describe.each(Object.entries(PUBLISHED))('%s', (actionKey, published) => {
    const action = destination.actions[actionKey]

    it('exists under the same key', () => {
      expect(action).toBeDefined()
    })

    it.each(Object.entries(published))('keeps the field %s: same type, requirement and default', (key, field) => {
      expect(action.fields[key]).toMatchObject(field)
    })

    it('adds only optional fields, so a mapping saved before stays valid', () => {
      const added = Object.entries(action.fields).filter(([key]) => !(key in published))
      expect(added.map(([key]) => key)).toEqual(['profile_id', 'enable_batching', 'batch_size'])
      expect(added.filter(([, field]) => field.required === true)).toEqual([])
    })

    it('a mapping saved before (the published defaults only) still holds every key the action requires', () => {
      const saved = defaultValues(
        Object.fromEntries(Object.entries(published).map(([key, field]) => [key, { ...field, label: key }]))
      )
      const required = Object.entries(action.fields).filter(([, field]) => field.required === true)
      expect(required.map(([key]) => key).filter((key) => !(key in saved))).toEqual([])
    })
  })
})
