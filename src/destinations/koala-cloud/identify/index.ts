import type { ActionDefinition } from '@segment/actions-core'
import * as shared from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Identify',
  description: 'Send an Identify call to Koala.',
  defaultSubscription: 'type = "identify"',
  fields: {
    email: shared.email,
    profile_id: shared.profile_id,
    traits: shared.traits,
    sent_at: shared.sent_at,
    context: shared.context,
    device_ip: {
      ...shared.device_ip,
      description:
        "The device IP collected from the context. When the mapped Traits hold an `ip` that is an IP address (IPv4 or IPv6), that one is sent instead: server-side libraries often put the server's own address in context.ip."
    },
    message_id: shared.message_id,
    enable_batching: shared.enable_batching,
    batch_size: shared.batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'identify', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'identify', payload)
}

export default action
