/**
 * The consumer's one page: self-contained (inline CSS and JS, no CDN, no
 * build step). Everything from the server is rendered with textContent, never
 * as HTML, since webhook ids and summaries come from outside.
 */
export function renderPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald demo consumer</title>
<style nonce="${nonce}">
  :root { font-family: system-ui, sans-serif; color: #1d2230; background: #f6f7fb; }
  body { max-width: 960px; margin: 0 auto; padding: 24px; }
  h1 { margin: 0 0 4px; font-size: 1.5rem; }
  .lead { margin: 0 0 20px; color: #555d70; }
  .panel { background: #fff; border: 1px solid #dde1ea; border-radius: 8px; padding: 16px; margin-bottom: 16px; }
  .panel > :first-child { margin-top: 0; } .panel > :last-child { margin-bottom: 0; }
  .buttons { display: flex; flex-wrap: wrap; gap: 8px; }
  button { font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid #3b5bdb;
           background: #3b5bdb; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #3b5bdb; }
  button:disabled { opacity: .5; cursor: default; }
  .muted { color: #6b7385; font-size: .9rem; }
  #counter strong { font-variant-numeric: tabular-nums; }
  ol { list-style: none; margin: 0; padding: 0; }
  li.entry { display: grid; grid-template-columns: 90px 88px minmax(0, 1fr); gap: 4px 10px; padding: 8px 0;
             border-bottom: 1px solid #eef0f5; }
  /* Ids are long unbroken words: let them wrap rather than overflow the panel on a narrow screen. */
  li.entry > span, [data-testid="current-user"], [data-testid="action-status"] { overflow-wrap: break-word; }
  li.entry .time { color: #6b7385; font-variant-numeric: tabular-nums; font-size: .85rem; }
  li.entry .kind { font-size: .75rem; font-weight: 600; text-transform: uppercase; padding: 2px 6px;
                   border-radius: 4px; height: fit-content; text-align: center; }
  .kind-webhook { background: #e7f0ff; color: #1c4fc4; } .kind-call { background: #f3e8ff; color: #6b2bb8; }
  .kind-result { background: #e6f7ec; color: #1a7a3c; } .kind-action { background: #fff4e0; color: #a05a00; }
  .kind-error { background: #fde8e8; color: #b42318; }
  li.entry[data-ok="false"] .summary { color: #b42318; }
  .meta { grid-column: 3; color: #6b7385; font-size: .8rem; font-family: ui-monospace, monospace; }
  /* inline-block: a line may break between the type and the summary (no space separates them). */
  .type { display: inline-block; font-weight: 600; margin-right: 6px; }
  /* The event's place in its subject's history (a user's #1, #2, …). */
  .sequence { display: inline-block; margin-right: 6px; color: #6b7385; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>Herald demo consumer</h1>
<p class="lead">A customer's backend: it receives Herald webhooks, verifies and deduplicates them,
  and calls the Herald API back through the typed client.
  <a href="/portal" data-testid="portal-link">Open the Herald portal</a> to see its endpoint and every delivery.</p>

<section class="panel">
  <div class="buttons">
    <button data-testid="create-user" data-action="create-user">Create a user</button>
    <button data-testid="failed-login" data-action="failed-login" class="secondary">
      Failed login (wrong password)</button>
    <button data-testid="change-password" data-action="change-password" class="secondary">Change password</button>
    <button data-testid="delete-user" data-action="delete-user" class="secondary">Delete user</button>
  </div>
  <p class="muted">Current user: <span data-testid="current-user">none yet</span></p>
  <p class="muted" data-testid="action-status" aria-live="polite"></p>
</section>

<section class="panel">
  <p id="counter" data-testid="poll-counter">A poller of GET /v1/events every 1 s would have made
    <strong data-testid="poller-requests">0</strong> requests since start; webhooks received:
    <strong data-testid="webhooks-received">0</strong></p>
  <p class="muted">Live timeline: <span data-testid="connection">connecting…</span></p>
  <ol data-testid="timeline" id="timeline"></ol>
</section>

<script nonce="${nonce}">
(() => {
  const $ = (testId) => document.querySelector('[data-testid="' + testId + '"]');
  const timeline = $('timeline');
  const seen = new Set();
  let stats = null;

  function renderCounter() {
    if (!stats) return;
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(stats.startedAt)) / 1000));
    $('poller-requests').textContent = String(seconds);
    $('webhooks-received').textContent = String(stats.webhooksReceived);
  }

  function span(className, text) {
    const element = document.createElement('span');
    element.className = className;
    element.textContent = text;
    return element;
  }

  function addEntry(entry) {
    if (seen.has(entry.id)) return;
    seen.add(entry.id);
    const item = document.createElement('li');
    item.className = 'entry';
    item.dataset.testid = 'timeline-entry';
    item.dataset.kind = entry.kind;
    item.dataset.ok = String(entry.ok);
    if (entry.eventType) item.dataset.type = entry.eventType;
    if (entry.webhookId) item.dataset.webhookId = entry.webhookId;
    if (entry.sequence != null) item.dataset.sequence = String(entry.sequence);
    const detail = entry.detail || {};
    if (entry.kind === 'webhook') {
      item.dataset.verified = String(detail.verified === true);
      item.dataset.duplicate = String(detail.duplicate === true);
    }
    item.append(span('time', new Date(entry.at).toLocaleTimeString()), span('kind kind-' + entry.kind, entry.kind));
    const body = document.createElement('span');
    if (entry.eventType) body.append(span('type', entry.eventType));
    if (entry.sequence != null) {
      const sequence = span('sequence', '#' + entry.sequence);
      sequence.dataset.testid = 'sequence';
      if (entry.subject) sequence.title = 'event ' + entry.sequence + ' of ' + entry.subject;
      body.append(sequence);
    }
    body.append(span('summary', entry.summary));
    item.append(body);
    if (entry.webhookId) item.append(span('meta', 'webhook-id ' + entry.webhookId));
    timeline.prepend(item);
  }

  const events = new EventSource('/events');
  events.addEventListener('entry', (message) => addEntry(JSON.parse(message.data)));
  events.addEventListener('stats', (message) => { stats = JSON.parse(message.data); renderCounter(); });
  events.onopen = () => { $('connection').textContent = 'connected'; };
  events.onerror = () => { $('connection').textContent = 'reconnecting…'; };
  setInterval(renderCounter, 1000);

  async function refreshAccount() {
    const response = await fetch('/actions/account');
    const { account } = await response.json();
    $('current-user').textContent = account ? account.email + ' (' + account.userId + ')' : 'none yet';
  }

  for (const button of document.querySelectorAll('button[data-action]')) {
    button.addEventListener('click', async () => {
      const buttons = document.querySelectorAll('button[data-action]');
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const response = await fetch('/actions/' + button.dataset.action, { method: 'POST' });
        const result = await response.json();
        // An error answer has no summary (e.g. a 500 is { error: { code, message } }).
        $('action-status').textContent =
          result.summary || (result.error && result.error.message) || ('HTTP ' + response.status);
        await refreshAccount();
      } catch (error) {
        $('action-status').textContent = 'request failed: ' + error;
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }
  refreshAccount();
})();
</script>
</body>
</html>`;
}
