import type { DestinationDefinition } from '@segment/actions-core'
import { defaultValues, HTTPError, InvalidAuthenticationError } from '@segment/actions-core'
import { projectUrl, PUBLIC_KEY_HELP, USER_AGENT } from './config'
import { deletePerson } from './deletion'
import type { Settings } from './generated-types'
import group from './group'
import identify from './identify'
import page from './page'
import track from './track'

const destination: DestinationDefinition<Settings> = {
  name: 'Koala (Cloud)',
  slug: 'actions-koala-cloud',
  mode: 'cloud',
  description:
    'Send Segment identify, track, page and group events to Koala to see which people and companies are showing intent on your product.',

  authentication: {
    scheme: 'custom',
    fields: {
      public_key: {
        label: 'Public Key',
        description: 'Your Koala Public Key, in Koala under Settings > Install.',
        type: 'password',
        required: true
      },
      secret_key: {
        label: 'Secret Key',
        description:
          'Only for deletion requests (GDPR/CCPA): a secret API key, created in Koala under Settings > API Keys. Koala deletes people by email, so a deletion request reaches Koala only when its userId is an email address. Events need the Public Key alone.',
        type: 'password',
        required: false
      }
    },
    testAuthentication: async (request, { settings }) => {
      const url = projectUrl(settings.public_key, 'auth')
      try {
        await request(url, { method: 'GET' })
      } catch (error) {
        // Only Koala's answer about the key is a verdict on it: a rate limit, an outage or the network says nothing.
        const status = (error as HTTPError).response?.status
        if (status === 401 || status === 403 || status === 404) {
          throw new InvalidAuthenticationError(`Koala does not know this Public Key (${status}). ${PUBLIC_KEY_HELP}`)
        }
      }
    }
  },

  extendRequest: () => ({ headers: { 'User-Agent': USER_AGENT } }),

  onDelete: deletePerson,

  presets: [
    {
      name: 'Track Calls',
      subscribe: 'type = "track"',
      partnerAction: 'track',
      mapping: defaultValues(track.fields),
      type: 'automatic'
    },
    {
      name: 'Identify Calls',
      subscribe: 'type = "identify"',
      partnerAction: 'identify',
      mapping: defaultValues(identify.fields),
      type: 'automatic'
    }
  ],

  actions: {
    identify,
    track,
    page,
    group
  }
}

export default destination
