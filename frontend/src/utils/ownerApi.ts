// The owner API hooks named by the plan (phase 7), gathered in one module. Each lives beside its
// fetcher and queryOptions in a feature's api/ folder; mutations invalidate what they change.
export { usePlaces } from '@/features/campaigns/api/get-places';
export { useCampaigns } from '@/features/campaigns/api/get-campaigns';
export { useCampaign } from '@/features/campaigns/api/get-campaign';
export { useCreateCampaign } from '@/features/campaigns/api/create-campaign';
export { useUpdateCampaign } from '@/features/campaigns/api/update-campaign';
export { useDeleteCampaign } from '@/features/campaigns/api/delete-campaign';
export { useMessagingCustomers } from '@/features/messaging/api/get-messaging-customers';
export {
  useAddCampaignRecipients,
  useClearCampaignRecipients,
} from '@/features/messaging/api/add-campaign-recipients';
export { useRemoveCampaignRecipient } from '@/features/messaging/api/remove-campaign-recipient';
export { useCampaignRecipients } from '@/features/messaging/api/get-campaign-recipients';
export {
  useSendCampaign,
  useCancelCampaign,
  useRetryFailed,
} from '@/features/messaging/api/send-campaign';
export { useMessagingStats } from '@/features/messaging/api/get-messaging-stats';
export { useSendSummary } from '@/features/messaging/api/get-send-summary';
export { useCampaignPreview } from '@/features/messaging/api/preview-campaign';
export { useOutbox } from '@/features/outbox/api/get-outbox';
export { useLogin, useLogout, useUser } from '@/lib/auth';
