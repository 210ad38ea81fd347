import { EmailFrame } from '@/components/email-frame';

export { emailDocument } from '@/components/email-frame';

export function EmailPreviewFrame({ html, title }: { html: string; title: string }) {
  return <EmailFrame html={html} title={title} testId="email-preview-frame" />;
}
