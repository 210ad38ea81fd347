import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { Channel, RecipientStatus } from '@/types/campaign';

export interface RecipientsParams {
  status?: RecipientStatus | null;
  channel?: Channel | null;
  page: number;
  limit?: number;
}

export const getCampaignRecipients = (
  campaignId: number,
  params: RecipientsParams,
  signal?: AbortSignal,
) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}/recipients', {
      params: {
        path: { campaign_id: campaignId },
        query: {
          status: params.status,
          channel: params.channel,
          page: params.page,
          limit: params.limit ?? 25,
        },
      },
      signal,
    }),
  );

export const campaignRecipientsQueryOptions = (
  campaignId: number,
  params: RecipientsParams,
  live = false,
) =>
  queryOptions({
    queryKey: ['messaging', campaignId, 'recipients', params],
    queryFn: ({ signal }) => getCampaignRecipients(campaignId, params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: live ? 2000 : false,
  });

/** A page of the campaign's recipients; polls while `live` (the campaign is sending). */
export function useCampaignRecipients(
  campaignId: number,
  params: RecipientsParams = { page: 1 },
  live = false,
) {
  return useQuery({
    ...campaignRecipientsQueryOptions(campaignId, params, live),
    enabled: campaignId > 0,
  });
}

/** Downloads the recipients as CSV (the token is a header, so a plain link cannot do it). */
export async function downloadRecipientsCsv(
  campaignId: number,
  params: Pick<RecipientsParams, 'status' | 'channel'> = {},
): Promise<void> {
  const blob = await data(
    client.GET('/owner/campaigns/{campaign_id}/recipients/export.csv', {
      params: {
        path: { campaign_id: campaignId },
        query: { status: params.status, channel: params.channel },
      },
      parseAs: 'blob',
    }),
  );
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `campaign-${campaignId}-recipients.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
