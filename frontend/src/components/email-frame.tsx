// An email as a customer will see it. Owner HTML is never put into the app's own page: it is
// shown in a frame with an empty `sandbox` (no scripts, no forms, no popups, and a unique
// origin, so nothing in it can reach the app's session), with a policy that loads no scripts
// either, whatever the server sent.
const FRAME_STYLE = [
  'body{margin:0;padding:8px 12px;font:14px/1.5 system-ui,sans-serif;color:#0f172a;',
  'overflow-wrap:anywhere}',
  'a{color:#0f766e;text-decoration:underline}',
  'ul{list-style:disc;padding-left:1.5rem}',
  'p{margin:0 0 .5rem}',
  'img{max-width:100%;height:auto}',
].join('');
const FRAME_POLICY = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'";

export function emailDocument(html: string): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}">` +
    `<style>${FRAME_STYLE}</style></head><body>${html}</body></html>`
  );
}

export function EmailFrame({
  html,
  title,
  testId,
  className = 'block h-72 w-full bg-white',
}: {
  html: string;
  title: string;
  testId?: string;
  className?: string;
}) {
  return (
    <iframe
      title={title}
      sandbox=""
      srcDoc={emailDocument(html)}
      data-testid={testId}
      className={className}
    />
  );
}
