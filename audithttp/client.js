// audit.js: the browser side of audithttp.Ingest, with the API of
// Datagrok's JS Logger. An ES module with no dependencies.
//
//   import {Logger} from '/audit.js';
//   const logger = new Logger((m) => { m.params.page = location.pathname; },
//                             {url: '/audit/ingest', params: {app: 'sales'}});
//   logger.usage('menu item clicked', {item: 'File | Open'}, 'main-menu-item-click');
//   logger.error(err);  // an Error: its message and stack
//
// Records are queued and posted as a JSON array every `interval` ms (and
// at once when `maxBatch` are waiting), with the page's cookies; when the
// page is hidden the queue is sent with navigator.sendBeacon. The server
// attributes them to the signed-in user and session: a record carries no
// user id. A batch the server refuses as invalid (4xx) is dropped; on 429
// or a network error it is kept and retried; on 503 the records the server
// did take are dropped and the rest retried. Records beyond `maxQueue`
// are dropped, counted in `stats.dropped`, and reported to the server by
// a warning record.

export const LOG_LEVEL = Object.freeze({
  DEBUG: 'debug', INFO: 'info', WARNING: 'warning', ERROR: 'error', AUDIT: 'audit', USAGE: 'usage',
});

export class Logger {
  // putCallback(record) runs on every record before it is queued and may
  // change it (record.params is always an object). options: params (static
  // params of every record), url (default '/audit/ingest'), interval (ms,
  // default 5000), maxBatch (records a request, default 100), maxQueue
  // (default 1000).
  constructor(putCallback, options = {}) {
    if (putCallback !== null && typeof putCallback === 'object' && options && Object.keys(options).length === 0) {
      options = putCallback; // new Logger(options)
      putCallback = undefined;
    }
    this.putCallback = typeof putCallback === 'function' ? putCallback : null;
    this.params = Object.assign({}, options.params);
    this.url = options.url || '/audit/ingest';
    this.interval = options.interval ?? 5000;
    this.maxBatch = options.maxBatch ?? 100;
    this.maxQueue = options.maxQueue ?? 1000;
    this.stats = {sent: 0, dropped: 0, refused: 0};
    this._queue = [];
    this._inflight = null;
    this._notAfter = 0; // no posting before this time (429)
    this._reportedDrops = 0;
    this._timer = setInterval(() => { this.flush(); }, this.interval);
    this._onHide = () => { if (document.visibilityState === 'hidden') this.beacon(); };
    this._onPageHide = () => this.beacon();
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this._onHide);
    if (typeof window !== 'undefined') window.addEventListener('pagehide', this._onPageHide);
  }

  // create is the short form of new Logger(undefined, {params}).
  static create(options = {}) { return new Logger(undefined, options); }

  log(message, params, type = 'log') { this.put(LOG_LEVEL.AUDIT, message, params, type); }
  audit(message, params, type = 'log') { this.put(LOG_LEVEL.AUDIT, message, params, type); }
  usage(message, params, type = 'usage') { this.put(LOG_LEVEL.USAGE, message, params, type); }
  info(message, params) { this.put(LOG_LEVEL.INFO, message, params); }
  debug(message, params) { this.put(LOG_LEVEL.DEBUG, message, params); }
  warning(message, params) { this.put(LOG_LEVEL.WARNING, message, params); }

  // error logs an error record: message is a string or an Error (its
  // message and stack are used); without a stack, the caller's is taken.
  error(message, params, stackTrace) {
    let text = message;
    if (message instanceof Error) {
      text = message.message;
      stackTrace = stackTrace || message.stack;
    }
    if (!stackTrace) stackTrace = new Error(String(text)).stack;
    this.put(LOG_LEVEL.ERROR, text, params, 'error', stackTrace);
  }

  // put queues one record in the JS Logger's shape.
  put(level, message, params, type, stackTrace) {
    const record = {level, message: message == null ? '' : String(message), params: Object.assign({}, this.params, params)};
    if (type) record.type = type;
    if (stackTrace) record.stackTrace = String(stackTrace);
    if (this.putCallback) {
      try { this.putCallback(record); } catch (e) { /* a failing callback does not lose the record */ }
    }
    this._queue.push(record);
    this._trim();
    if (this._queue.length >= this.maxBatch) this.flush();
  }

  // flush posts the waiting records; it resolves when the queue is sent or
  // the server answered.
  async flush() {
    if (this._inflight) return this._inflight;
    this._inflight = this._drain().finally(() => { this._inflight = null; });
    return this._inflight;
  }

  async _drain() {
    this._reportDrops();
    while (this._queue.length > 0 && Date.now() >= this._notAfter) {
      const batch = this._queue.splice(0, this.maxBatch);
      let res;
      try {
        res = await fetch(this.url, {
          method: 'POST', credentials: 'same-origin', keepalive: true,
          headers: {'Content-Type': 'application/json'}, body: JSON.stringify(batch),
        });
      } catch (e) {
        this._requeue(batch); // offline: try again later
        return;
      }
      if (res.ok) {
        this.stats.sent += batch.length;
        continue;
      }
      let answer = {};
      try { answer = await res.json(); } catch (e) { /* no JSON body */ }
      if (res.status === 429) {
        const after = Number(res.headers.get('Retry-After')) || 1;
        this._notAfter = Date.now() + after * 1000;
        this._requeue(batch);
        return;
      }
      if (res.status >= 500) {
        const took = Math.max(0, Math.min(batch.length, answer.accepted | 0));
        this.stats.sent += took;
        this._requeue(batch.slice(took));
        return;
      }
      this.stats.refused += batch.length; // invalid: sending it again would not help
      if (typeof console !== 'undefined') console.warn('audit: the server refused ' + batch.length + ' records: ' + (answer.error || res.status));
    }
  }

  // beacon hands the whole queue to the browser, which sends it even as
  // the page goes away.
  beacon() {
    this._reportDrops();
    while (this._queue.length > 0) {
      const batch = this._queue.slice(0, this.maxBatch);
      if (!navigator.sendBeacon(this.url, JSON.stringify(batch))) return; // over the browser's quota: keep them
      this._queue.splice(0, batch.length);
      this.stats.sent += batch.length;
    }
  }

  // close stops the timer and sends what is left with a beacon.
  close() {
    clearInterval(this._timer);
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this._onHide);
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', this._onPageHide);
    this.beacon();
  }

  _requeue(batch) {
    this._queue.unshift(...batch);
    this._trim();
  }

  _trim() {
    const over = this._queue.length - this.maxQueue;
    if (over > 0) {
      this._queue.splice(0, over); // the oldest go
      this.stats.dropped += over;
    }
  }

  _reportDrops() {
    const n = this.stats.dropped - this._reportedDrops;
    if (n > 0) {
      this._reportedDrops = this.stats.dropped;
      this._queue.push({level: LOG_LEVEL.WARNING, message: 'audit: ' + n + ' records dropped in the browser (queue full)', params: {dropped: n}});
    }
  }
}
