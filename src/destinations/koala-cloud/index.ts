import type { DestinationDefinition } from '@segment/actions-core'
import { defaultValues, InvalidAuthenticationError } from '@segment/actions-core'
import { KOALA_HEADERS, PUBLIC_KEY_HELP, projectUrl, requestTimeoutMs, SKIP_RESPONSE_CLONING } from './config'
import type { Settings } from './generated-types'
import { deletePerson } from './deletion'
import { isRetryable, koalaReason, networkError, redirectMessage } from './errors'
import group from './group'
import identify from './identify'
import page from './page'
import track from './track'

/** actions-core words a failed test as `Credentials are invalid: ${error.response?.status} ${error.message}`. */
function withStatus<E extends Error>(error: E, status: number): E {
  return Object.assign(error, { response: { status } })
}

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
        description: 'Your public key',
        type: 'password',
        required: true
      },
      secret_key: {
        label: 'Secret Key',
        description:
          'Needed only for deletion requests (GDPR/CCPA): a secret API key from Koala, Settings > API Keys. Koala deletes people by email, so it deletes those whose userId is their email. Events are sent with the Public Key alone.',
        type: 'password',
        required: false
      }
    },
    testAuthentication: async (request, { settings }) => {
      let url: string
      try {
        url = projectUrl(settings.public_key, 'auth')
      } catch (error) {
        throw withStatus(error as Error, 400)
      }
      let response
      try {
        response = await request(url, {
          method: 'GET',
          headers: KOALA_HEADERS,
          redirect: 'manual',
          throwHttpErrors: false,
          skipResponseCloning: SKIP_RESPONSE_CLONING,
          timeout: requestTimeoutMs()
        })
      } catch (error) {
        // Says nothing about the key.
        const failure = networkError(error)
        failure.message = `${failure.message} The Public Key was not checked: try again in a few minutes.`
        throw withStatus(failure, failure.status)
      }
      if (response.ok) return response
      if (response.status < 400) {
        throw withStatus(
          new InvalidAuthenticationError(redirectMessage(response.status, response.headers.get('location'))),
          response.status
        )
      }
      // Only an answer about the key is a verdict on it; a rate limit or an outage means "try again later".
      if (isRetryable(response.status)) {
        throw withStatus(
          new InvalidAuthenticationError('Koala could not check the Public Key right now. Try again in a few minutes.'),
          response.status
        )
      }
      const reason = koalaReason(response.data ?? response.content)
      throw withStatus(
        new InvalidAuthenticationError(
          `Koala did not accept this Public Key${reason ? `: ${reason}` : ''}. ${PUBLIC_KEY_HELP}`
        ),
        response.status
      )
    }
  },

  onDelete: deletePerson,

  // No `extendRequest`: every request gives KOALA_HEADERS itself (config.ts says why). No custom `agent` either:
  // actions-core destroys it after each response, cutting a batch's other requests.

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
