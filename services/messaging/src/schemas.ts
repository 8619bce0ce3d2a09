// Request and response schemas for every messaging route.
import { Type } from 'typebox';

export const RoomParams = Type.Object({
  room: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$' }),
});

export const MessageIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const PostMessageBody = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    body: Type.String({ minLength: 1, maxLength: 4000 }),
  },
  { additionalProperties: false },
);

export const Message = Type.Object({
  id: Type.String(),
  room: Type.String(),
  author: Type.String(),
  body: Type.String(),
  createdAt: Type.String(),
  cursor: Type.String({ description: 'opaque; pass as ?after= to read what follows this message' }),
});

export const ListQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);

export const MessagePage = Type.Object({
  messages: Type.Array(Message),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'cursor of the last message returned (null when the page is empty)',
  }),
});

export const Unread = Type.Object({ room: Type.String(), unread: Type.Integer({ minimum: 0 }) });

export const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
});
