import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { components } from '@/api/schema';

export type EmailSender = components['schemas']['EmailSenderRead'];

export const getEmailSender = (signal?: AbortSignal) =>
  data(client.GET('/owner/email-sender', { signal }));

export const setEmailSender = (senderEmail: string | null) =>
  data(client.PUT('/owner/email-sender', { body: { sender_email: senderEmail } }));

export const emailSenderQueryOptions = () =>
  queryOptions({
    queryKey: ['owner', 'email-sender'],
    queryFn: ({ signal }) => getEmailSender(signal),
  });

/** The owner's own From address, and the domains it may be on. */
export function useEmailSender() {
  return useQuery(emailSenderQueryOptions());
}

export function useSetEmailSender() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: setEmailSender,
    onSuccess: (sender) => queryClient.setQueryData(['owner', 'email-sender'], sender),
  });
}
