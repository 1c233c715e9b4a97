import type { Request, Response } from 'express';
import type { EventSink } from './event-stream';

/**
 * An express response as a server-sent event stream. The headers go out at once (the client
 * sees the stream open before the first change); no-store and helmet's headers stay as the
 * middleware set them, and nothing here compresses, so each event leaves when written.
 */
export function eventStreamSink(req: Request, res: Response): EventSink {
  return {
    open: () => {
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      // nginx and similar proxies buffer responses unless told not to.
      res.setHeader('X-Accel-Buffering', 'no');
      res.setHeader('Connection', 'keep-alive');
      res.flushHeaders();
      req.socket.setNoDelay(true);
    },
    write: (chunk) => {
      if (!res.writableEnded) res.write(chunk);
    },
    end: () => {
      if (!res.writableEnded) res.end();
    },
    onClose: (listener) => {
      res.on('close', listener);
    },
  };
}
