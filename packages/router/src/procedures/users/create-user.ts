import { isUniqueViolation, newId, type users } from '@herald/db';
import { eventStatement } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { apiError } from '../../errors';
import type { ChangeTemplate } from '../../services/change-with-events';
import { changeWithEventInOneStatement } from '../../services/change-with-events';
import { hashPassword, passwordTurnOf } from '../../services/passwords';
import { projectProcedure } from '../../trpc/init';
import {
  emailSchema,
  metadataSchema,
  passwordSchema,
  rolesSchema,
  toUser,
  userNameSchema,
  userSchema,
} from './user-schemas';

export const createUserInput = z.strictObject({
  email: emailSchema,
  name: userNameSchema.optional(),
  password: passwordSchema.optional(),
  roles: rolesSchema.optional(),
  metadata: metadataSchema.optional(),
});

export const createUser = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/users',
      summary: 'Create a user',
      tags: ['Users'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(createUserInput)
  .output(userSchema)
  .mutation(async ({ ctx, input }) => {
    // Hash outside the transaction: it takes tens of ms on a hashing thread and holds no lock.
    const passwordHash = input.password ? await hashPassword(input.password, passwordTurnOf(ctx)) : null;
    const now = new Date();
    const row: typeof users.$inferSelect = {
      id: newId('user', now.getTime()),
      projectId: ctx.projectId,
      email: input.email,
      name: input.name ?? null,
      passwordHash,
      roles: input.roles ?? [],
      metadata: input.metadata ?? {},
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    const user = toUser(row);
    try {
      // The user, its `user.created` event and the event's deliveries in one statement.
      await changeWithEventInOneStatement(
        ctx,
        insertUser(row),
        eventStatement({ projectId: ctx.projectId, type: 'user.created', data: { user }, now }),
      );
      return user;
    } catch (error) {
      if (isUniqueViolation(error)) throw apiError('email_taken', 'A user with this email already exists');
      throw error;
    }
  });

/** The INSERT of a new user, to embed in the statement that also records its event. */
function insertUser(row: typeof users.$inferSelect): ChangeTemplate {
  return {
    key: 'users.create',
    build: (value) => {
      const v = (name: string) => value(`user_${name}`);
      return sql`insert into users (id, project_id, email, name, password_hash, roles, metadata, status, created_at, updated_at)
        values (${v('id')}, ${v('project')}, ${v('email')}, ${v('name')}::text, ${v('password_hash')}::text,
                array(select jsonb_array_elements_text(${v('roles')}::jsonb)), ${v('metadata')}::jsonb,
                ${v('status')}, ${v('created_at')}::timestamptz, ${v('updated_at')}::timestamptz)`;
    },
    values: {
      user_id: row.id,
      user_project: row.projectId,
      user_email: row.email,
      user_name: row.name,
      user_password_hash: row.passwordHash,
      user_roles: JSON.stringify(row.roles),
      user_metadata: JSON.stringify(row.metadata),
      user_status: row.status,
      user_created_at: row.createdAt.toISOString(),
      user_updated_at: row.updatedAt.toISOString(),
    },
  };
}
