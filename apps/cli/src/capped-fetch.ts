import type { FetchLike } from '@modelcontextprotocol/client';

/** Statuses whose responses have no body (a Response cannot be built with one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Thrown into a response body read past its cap. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the response body is larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * A fetch for the MCP SDK's HTTP transports whose response bodies end in an error, and stop being
 * read, past `maxBytes`: the SDK reads a JSON answer whole (`response.json()`), so a server sending
 * hundreds of megabytes held them all in memory before any limit of the manifest's could refuse
 * them. `onTooLarge` is called once when a body passes the cap, so the caller can say why the
 * request failed (the SDK reports the read error in words of its own). The cap counts the bytes of
 * each response as they arrive, an event stream's whole life included.
 */
export function cappedFetch(maxBytes: number, onTooLarge: (error: BodyTooLargeError) => void, base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    // A status a Response cannot be built with (outside 200 to 599: fetch gives 1xx and 6xx+ as
    // they came) has its body left unread by the SDK, which refuses such an answer.
    if (response.body === null || NULL_BODY.has(response.status) || response.status < 200 || response.status > 599) return response;
    let seen = 0;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        seen += value.byteLength;
        if (seen > maxBytes) {
          const error = new BodyTooLargeError(maxBytes);
          onTooLarge(error);
          controller.error(error);
          await reader.cancel(error).catch(() => undefined);
          return;
        }
        controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    const capped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    // A built Response has no URL; the SDK's redirect handling reads the one it was fetched from.
    Object.defineProperty(capped, 'url', { value: response.url });
    return capped;
  };
}
