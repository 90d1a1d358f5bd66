import type { ActionDefinition } from '@segment/actions-core'
import * as shared from '../fields'
import type { Settings } from '../generated-types'
import { sendBatch, sendOne } from '../send'
import type { Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload> = {
  title: 'Group',
  description: 'Send company traits to Koala.',
  defaultSubscription: 'type = "group"',
  fields: {
    domain: shared.domain,
    account_id: shared.account_id,
    group_id: shared.group_id,
    traits: shared.company_traits,
    sent_at: shared.sent_at,
    message_id: shared.message_id,
    enable_batching: {
      ...shared.enable_batching,
      description:
        'When enabled, Segment sends events in batches and the destination groups them into one Koala request per company (up to 30 entries each).'
    },
    batch_size: shared.batch_size
  },
  perform: (request, { settings, payload }) => sendOne(request, settings, 'group', payload),
  performBatch: (request, { settings, payload }) => sendBatch(request, settings, 'group', payload)
}

export default action
