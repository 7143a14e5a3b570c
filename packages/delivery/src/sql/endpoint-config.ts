import type { Queryable } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { ClaimedDelivery } from './claimed-row';
import { signingSecretsOf } from './claimed-row';

/** What a delivery is sent with, as its endpoint has it now. */
export interface EndpointConfig {
  url: string;
  headers: Record<string, string>;
  disabled: boolean;
  secrets: string[];
}

/** The endpoint's sending configuration now, as a claim reads it; null once it is deleted. */
export async function readEndpointConfig(
  db: Queryable,
  endpointId: ClaimedDelivery['endpoint']['id'],
): Promise<EndpointConfig | null> {
  const [row] = await executeRows<{
    url: string;
    headers: Record<string, string>;
    disabled: boolean;
    secrets: string[];
  }>(
    db,
    sql`select ep.url, ep.headers, ep.disabled, ${signingSecretsOf('ep')} as secrets
        from endpoints ep where ep.id = ${endpointId}`,
  );
  return row ? { url: row.url, headers: row.headers, disabled: row.disabled, secrets: row.secrets } : null;
}
