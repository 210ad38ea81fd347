import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { components } from '@/api/schema';

export type TestSendResult = components['schemas']['TestSendResult'];
export type TestChannel = components['schemas']['TestSendRequest']['channel'];

export const sendTest = (campaignId: number, channel: TestChannel) =>
  api<TestSendResult>(`/owner/campaigns/${campaignId}/test-send`, {
    method: 'POST',
    json: { channel },
  });

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
