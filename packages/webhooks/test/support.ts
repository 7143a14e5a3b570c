import { exampleEvent } from '@herald/events';
import { generateSecret, signHeaders } from '@herald/signing';
import type { HeraldEvent, ReceivedWebhook, WebhookRejection } from '../src';

/**
 * What every adapter test server records, so one behaviour suite checks every framework.
 * Servers listen on a real port; requests go over real HTTP.
 */
export interface Received {
  event: HeraldEvent;
  webhook: ReceivedWebhook;
}

export interface TestServer {
  url: string;
  received: Received[];
  rejected: WebhookRejection[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  secrets: string[];
  maxBodyBytes: number;
}

export type StartServer = (options: TestServerOptions) => Promise<TestServer>;

/** onEvent for the test servers: records the event; a delivery whose id starts with `msg_throw` makes it throw. */
export function recordingHandler(received: Received[]) {
  return (event: HeraldEvent, { webhook }: { webhook: ReceivedWebhook }) => {
    if (webhook.id.startsWith('msg_throw')) throw new Error('the handler failed');
    received.push({ event, webhook });
  };
}

export interface Delivery {
  body: string;
  secrets: string | string[];
  id?: string;
  /** Default: now. */
  timestamp?: Date;
  /** Sent instead of `body`, under the signature made for `body`. */
  sentBody?: string;
  headers?: Record<string, string>;
}

let counter = 0;
export const newWebhookId = (prefix = 'msg') => `${prefix}_${process.pid}_${++counter}`;

/** POSTs a delivery signed as Herald's dispatcher signs it. */
export function deliver(url: string, delivery: Delivery): Promise<Response> {
  const signed = signHeaders({
    id: delivery.id ?? newWebhookId(),
    timestamp: delivery.timestamp ?? new Date(),
    body: delivery.body,
    secrets: delivery.secrets,
  });
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signed, ...delivery.headers },
    body: delivery.sentBody ?? delivery.body,
  });
}

export const secrets = { current: generateSecret(), previous: generateSecret(), stranger: generateSecret() };

/** A valid `user.created` body with ordering fields, written with spacing JSON.stringify would never produce. */
export function userCreatedBody(): { body: string; event: ReturnType<typeof exampleEvent<'user.created'>> } {
  const event = exampleEvent('user.created', {
    id: `evt_${newWebhookId('created')}`,
    timestamp: new Date().toISOString(),
  });
  const ordered = { ...event, subject: event.data.user.id, sequence: 1 };
  // Hand-spaced with an escaped non-ASCII character: re-serialising the parsed JSON changes the bytes.
  const body = JSON.stringify(ordered, null, 1).replace(event.data.user.name ?? '', 'Zo\\u00eb');
  return { body, event: { ...event, data: { ...event.data, user: { ...event.data.user, name: 'Zoë' } } } };
}

/** An event type Herald may add after this kit was released. */
export function futureEventBody(type = 'invoice.paid', version = 1) {
  const envelope = {
    id: `evt_${newWebhookId('future')}`,
    type,
    version,
    timestamp: new Date().toISOString(),
    subject: 'inv_1',
    sequence: 4,
    data: { invoiceId: 'inv_1', amount: { value: 1200, currency: 'EUR' } },
    region: 'eu',
  };
  return { body: JSON.stringify(envelope), envelope };
}
