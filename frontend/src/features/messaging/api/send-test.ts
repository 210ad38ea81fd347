import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { components } from '@/api/schema';

export type TestSendResult = components['schemas']['TestSendResult'];
export type TestChannel = components['schemas']['TestSendRequest']['channel'];

export const sendTest = (campaignId: number, channel: TestChannel) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/test-send', {
      params: { path: { campaign_id: campaignId } },
      body: { channel },
    }),
  );

/** Sends the campaign's message to the owner's own address or number, marked as a test. */
export function useSendTest(campaignId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (channel: TestChannel) => sendTest(campaignId, channel),
    onSuccess: () => {
      // The test is in the campaign's history (and, with the outbox backend, the Outbox).
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'audit-events', campaignId] });
      void queryClient.invalidateQueries({ queryKey: ['outbox'] });
    },
  });
}
