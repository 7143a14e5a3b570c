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

/** Where the link page's script is served (same origin: the portal's CSP allows `script-src 'self'` only). */
export const OPEN_LINK_SCRIPT_PATH = '/portal/open.js';

/**
 * What the link page runs: it submits the page's form, whose POST spends the link, as soon as the
 * page is shown to someone (a prerendered page waits until it is shown). A scanner that fetches the
 * link without running scripts (mail and chat link previews, security gateways) spends nothing.
 */
export const OPEN_LINK_SCRIPT = `// Herald portal: opens the link this page was reached by (its form's POST spends it).
const form = document.getElementById('open-portal');
const open = () => {
  if (!form) return;
  // One POST: a click while it is under way would spend nothing and answer "already used".
  for (const button of form.querySelectorAll('button')) button.disabled = true;
  form.submit();
};
if (document.prerendering) document.addEventListener('prerenderingchange', open, { once: true });
else open();
`;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);

/** A project as the link page names it: its name (anyone's choice, not unique) and its id. */
export interface NamedProject {
  name: string;
  id: string;
}

/** What a link page says when following it would switch this browser from another project's portal. */
export interface SwitchingPortals {
  /** The project the browser's session is for; null for the operator's. */
  current: NamedProject | null;
  /** The link's project. */
  next: NamedProject;
}

/** A name isolated from the text around it (a right-to-left name cannot reorder the sentence), then its id. */
const project = ({ name, id }: NamedProject) =>
  `<strong><bdi>${escapeHtml(name)}</bdi></strong> (<code>${escapeHtml(id)}</code>)`;

/**
 * The page a valid link's GET answers: a form that opens the portal with a POST (sent by its
 * script at once, or by the button without scripts). The GET itself spends nothing. When another
 * site sent the browser here while it holds a session of another project (`switching`), the page
 * has no script: the person chooses, seeing both names (login CSRF would otherwise put them to work
 * in a project of another site's choosing).
 */
export function openLinkPage(token: string, nonce: string | null, switching?: SwitchingPortals): string {
  const script = switching ? '' : `<script src="${OPEN_LINK_SCRIPT_PATH}" defer></script>`;
  const heading = switching ? 'Switch to another project’s portal?' : 'Opening the portal…';
  const explain = switching
    ? `<p>This browser is signed in to ${switching.current === null ? 'the operator’s view of the portal' : `the portal of ${project(switching.current)}`}. This link opens the portal of ${project(switching.next)} instead. Continue only if you asked for a link to that project.</p>\n`
    : '';
  const button = switching ? `Open the portal of ${escapeHtml(switching.next.name)}` : 'Open the portal';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Opening the Herald portal</title><link rel="icon" href="data:,">${script}</head>
<body data-link="${switching ? 'confirm' : 'ready'}">
<main>
<h1>${heading}</h1>
${explain}<form id="open-portal" method="post" action="/portal/open">
<input type="hidden" name="token" value="${escapeHtml(token)}">
${nonce === null ? '' : `<input type="hidden" name="nonce" value="${escapeHtml(nonce)}">\n`}<button type="submit">${button}</button>
</form>
</main>
</body>
</html>`;
}
