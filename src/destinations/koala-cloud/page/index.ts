import type { ActionDefinition } from '@segment/actions-core'
import * as shared from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Page',
  description: 'Send a page view to Koala.',
  defaultSubscription: 'type = "page"',
  fields: {
    email: shared.email,
    profile_id: shared.profile_id,
    traits: shared.context_traits,
    sent_at: shared.sent_at,
    context: shared.context,
    device_ip: shared.device_ip,
    message_id: shared.message_id,
    name: shared.name,
    properties: shared.page_properties,
    enable_batching: shared.enable_batching,
    batch_size: shared.batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'page', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'page', payload)
}

export default action
