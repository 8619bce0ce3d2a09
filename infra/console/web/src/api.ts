// The page's only way to the server: fetch with the lab token in an Authorization header. The token
// lives in this object's memory only (never in storage, a cookie or a URL), so a reload asks again.
import type { Session, StreamMessage } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string) {}

  private headers(extra: Record<string, string> = {}) {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  private async parse<T>(res: Response): Promise<T> {
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    if (!res.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText);
    }
    return body as T;
  }

  async get<T>(path: string): Promise<T> {
    return this.parse<T>(await fetch(path, { headers: this.headers(), cache: 'no-store' }));
  }

  async text(path: string): Promise<string> {
    const res = await fetch(path, { headers: this.headers(), cache: 'no-store' });
    if (!res.ok) await this.parse(res);
    return res.text();
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.parse<T>(
      await fetch(path, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
        cache: 'no-store',
      }),
    );
  }

  session(): Promise<Session> {
    return this.get<Session>('/api/session');
  }

  /**
   * The server's event stream, read with fetch (EventSource cannot send an Authorization header).
   * Reconnects after a second when the stream ends; stops on 401 or when `signal` aborts.
   */
  async stream(
    onMessage: (message: StreamMessage) => void,
    onState: (state: 'live' | 'reconnecting' | 'unauthorized') => void,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        const res = await fetch('/api/stream', { headers: this.headers(), cache: 'no-store', signal });
        if (res.status === 401) {
          onState('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data) onMessage(JSON.parse(data) as StreamMessage);
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
