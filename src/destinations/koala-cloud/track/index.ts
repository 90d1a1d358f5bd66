import type { ActionDefinition } from '@segment/actions-core'
import * as shared from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Track',
  description: 'Send an Event to Koala.',
  defaultSubscription: 'type = "track"',
  fields: {
    email: {
      ...shared.email,
      description:
        'The email to associate with the user, trimmed and lowercased; only a bare address (name@domain.tld) counts. When it is empty or not an address, the `email` inside the mapped Event properties is used, else the one inside the mapped Traits.'
    },
    profile_id: shared.profile_id,
    event: shared.event,
    properties: shared.properties,
    traits: shared.context_traits,
    sent_at: shared.sent_at,
    context: shared.context,
    device_ip: {
      ...shared.device_ip,
      description:
        "The device IP collected from the context. When the mapped Event properties hold an `ip` that is an IP address (IPv4 or IPv6), that one is sent instead: server-side libraries often put the server's own address in context.ip."
    },
    message_id: shared.message_id,
    enable_batching: shared.enable_batching,
    batch_size: shared.batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'track', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'track', payload)
}

export default action
