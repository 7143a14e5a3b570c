import { appRouter } from '@herald/router';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { restProcedures } from '../src/rest/procedures';

/**
 * The REST adapter and the OpenAPI document read tRPC's private internals in
 * one module. If a tRPC upgrade moves them, this fails with a clear message
 * instead of the REST API silently losing routes or schemas.
 */
describe('tRPC internals the REST adapter relies on', () => {
  const procedures = restProcedures();
  const expectedRoutes = Object.keys(appRouter._def.record).length;

  it('lists every procedure of the router that has REST metadata', () => {
    expect(procedures.length, 'no REST procedures found: did tRPC move router._def.procedures?').toBeGreaterThan(20);
    expect(expectedRoutes).toBeGreaterThan(0);
    expect(procedures.map((p) => p.path)).toContain('users.create');
  });

  it('finds a zod input and output schema on every procedure', () => {
    for (const p of procedures) {
      expect(p.inputSchema instanceof z.ZodType, `${p.path}: _def.inputs[0] is no longer a zod schema`).toBe(true);
      expect(p.outputSchema instanceof z.ZodType, `${p.path}: _def.output is no longer a zod schema`).toBe(true);
    }
  });
});
