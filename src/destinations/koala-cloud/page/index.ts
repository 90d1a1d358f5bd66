import type { ActionDefinition } from '@segment/actions-core'
import {
  batch_size,
  context,
  context_traits,
  device_ip,
  email,
  enable_batching,
  message_id,
  name,
  page_properties,
  profile_id,
  sent_at
} from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Page',
  description: 'Send a page view to Koala.',
  defaultSubscription: 'type = "page"',
  fields: {
    email,
    profile_id,
    traits: context_traits,
    sent_at,
    context,
    device_ip,
    message_id,
    name,
    properties: page_properties,
    enable_batching,
    batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'page', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'page', payload)
}

export default action
