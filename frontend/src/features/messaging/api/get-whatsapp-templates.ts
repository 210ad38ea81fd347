import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';

const TEMPLATES_KEY = ['messaging', 'whatsapp-templates'] as const;

export const getWhatsAppTemplates = (signal?: AbortSignal) =>
  data(client.GET('/owner/whatsapp-templates', { signal }));

export const refreshWhatsAppTemplates = () =>
  data(client.POST('/owner/whatsapp-templates/refresh'));

export const whatsAppTemplatesQueryOptions = () =>
  queryOptions({
    queryKey: TEMPLATES_KEY,
    queryFn: ({ signal }) => getWhatsAppTemplates(signal),
    staleTime: 5 * 60_000,
  });

/** The account's WhatsApp templates with their approval (cached by the server). */
export function useWhatsAppTemplates() {
  return useQuery(whatsAppTemplatesQueryOptions());
}

/** Reads the list from Twilio again (after a template was approved, say). */
export function useRefreshWhatsAppTemplates() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: refreshWhatsAppTemplates,
    onSuccess: (list) => queryClient.setQueryData(TEMPLATES_KEY, list),
  });
}
