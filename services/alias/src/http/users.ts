// POST /v1/users: sign-up. The handle becomes the user's first alias.
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import type { App } from '@wallet/kit';
import { PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN } from '../domain/password.ts';
import { signUp } from '../directory/sign-up.ts';
import type { Passwords } from '../auth/passwords.ts';
import type { Db } from '@wallet/kit';

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  handle: Type.String({ description: 'As typed at sign-up, without "@"' }),
  displayName: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

const SignUpBody = Type.Object(
  {
    // Loose bounds here; the handle and display-name rules (src/domain) give the precise message.
    handle: Type.String({ minLength: 1, maxLength: 64, examples: ['@ana.p'] }),
    password: Type.String({ minLength: PASSWORD_LENGTH_MIN, maxLength: PASSWORD_LENGTH_MAX }),
    displayName: Type.String({ minLength: 1, maxLength: 200, examples: ['Ana Pereira'] }),
  },
  { additionalProperties: false },
);

export function toUserBody(user: { id: string; handle: string; displayName: string; createdAt: Date }) {
  return { id: user.id, handle: user.handle, displayName: user.displayName, createdAt: user.createdAt.toISOString() };
}

export function usersRoutes(deps: { db: Db; passwords: Passwords }) {
  return async (app: App) => {
    app.post(
      '/v1/users',
      {
        schema: {
          summary: 'Sign up',
          tags: ['users'],
          body: SignUpBody,
          response: { 201: User, ...problems(400, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => reply.code(201).send(toUserBody(await signUp(deps, request.body))),
    );
  };
}
