import type { ActionDefinition } from '@segment/actions-core'
import {
  account_id,
  batch_size,
  company_traits,
  domain,
  enable_batching,
  group_id,
  message_id,
  sent_at
} from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Group',
  description: 'Send company traits to Koala.',
  defaultSubscription: 'type = "group"',
  fields: {
    domain,
    account_id,
    group_id,
    traits: company_traits,
    sent_at,
    message_id,
    enable_batching: {
      ...enable_batching,
      description:
        'When enabled, Segment sends events in batches and the destination groups them into one Koala request per company (up to 30 entries each).'
    },
    batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'group', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'group', payload)
}

export default action
