import type { DestinationDefinition } from '@segment/actions-core'
import { defaultValues, InvalidAuthenticationError } from '@segment/actions-core'
import { PUBLIC_KEY_HELP, REQUEST_TIMEOUT_MS, USER_AGENT, projectUrl } from './config'
import type { Settings } from './generated-types'
import identify from './identify'
import track from './track'

/**
 * Koala (Cloud): delivers Segment track and identify events to Koala's server-side ingestion API
 * (`POST {base}/web/projects/{public_key}/batch`). Source: Koala's server-side API docs.
 */
const destination: DestinationDefinition<Settings> = {
  name: 'Koala (Cloud)',
  slug: 'actions-koala-cloud',
  mode: 'cloud',
  description: 'Send Segment track and identify events to Koala to see who is showing intent on your product.',

  authentication: {
    scheme: 'custom',
    fields: {
      public_key: {
        label: 'Public Key',
        description: 'Your public key',
        type: 'password',
        required: true
      }
    },
    testAuthentication: async (request, { settings }) => {
      // The framework prefixes the message with `Credentials are invalid: <status> `.
      const response = await request(projectUrl(settings.public_key, 'auth'), {
        method: 'GET',
        throwHttpErrors: false,
        timeout: REQUEST_TIMEOUT_MS
      })
      if (response.status >= 400 && response.status < 500) {
        throw new InvalidAuthenticationError(`Koala did not accept this Public Key. ${PUBLIC_KEY_HELP}`)
      }
      if (!response.ok) {
        throw new InvalidAuthenticationError(
          `Koala could not check the Public Key right now (${response.status}). Try again in a few minutes.`
        )
      }
      return response
    }
  },

  extendRequest: () => ({
    headers: { 'User-Agent': USER_AGENT, 'Content-Type': 'application/json' }
  }),

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
    track
  }
}

export default destination
