import type { OpenLinkResult } from '@herald/router';

type Reason = Extract<OpenLinkResult, { ok: false }>['reason'];

const MESSAGES: Record<Reason, { title: string; text: string }> = {
  used: {
    title: 'This portal link was already used',
    text: 'Each link opens the portal once. Ask for a new link from the application that gave you this one.',
  },
  expired: {
    title: 'This portal link has expired',
    text: 'Links are valid for 15 minutes. Ask for a new link from the application that gave you this one.',
  },
  revoked: {
    title: 'This portal link was withdrawn',
    text: 'The key that made it was revoked. Ask for a new link from the application that gave you this one.',
  },
  unknown: {
    title: 'This portal link is not valid',
    text: 'Check that the whole link was copied, or ask for a new one.',
  },
};

/** The page a refused link answers with (410 used, expired or withdrawn, 404 unknown): plain HTML, no script. */
export function refusedLinkPage(reason: Reason): string {
  const { title, text } = MESSAGES[reason];
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Herald portal</title><link rel="icon" href="data:,"></head>
<body data-refused="${reason}">
<main>
<h1>${title}</h1>
<p>${text}</p>
</main>
</body>
</html>`;
}
