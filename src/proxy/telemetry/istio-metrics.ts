/**
 * Istio's standard metrics, hand-rolled for the hot path (envoy: stat names resolve at config time).
 *
 * A `RequestSeries` is resolved once per (listener direction, destination cluster) when a config is
 * built; per request the proxy calls `series.record(code, flags, ms, reqBytes, respBytes)`, which is
 * an array index plus a few additions. Series live in the `IstioMetrics` registry, keyed by their
 * label text, so they survive config swaps. `render()` writes the Prometheus text format.
 */

/** Istio's buckets for istio_request_duration_milliseconds. */
const DURATION_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's buckets for istio_request_bytes / istio_response_bytes (exponential, factor 10). */
const BYTES_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        (this.counts as Float64Array)[i]!++;
        return;
      }
    }
  }

  render(out: string[], name: string, labels: string): void {
    let cum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.counts[i] as number;
      out.push(`${name}_bucket{${labels},le="${this.bounds[i]}"} ${cum}`);
    }
    out.push(`${name}_bucket{${labels},le="+Inf"} ${this.count}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
  }
}

class CodeSeries {
  total = 0;
  readonly duration = new Histogram(DURATION_BUCKETS);
  readonly requestBytes = new Histogram(BYTES_BUCKETS);
  readonly responseBytes = new Histogram(BYTES_BUCKETS);
  constructor(readonly labels: string) {}
}

export type LabelSet = Record<string, string>;

function labelText(labels: LabelSet): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

/** All request metrics for one (reporter, source, destination, protocol) label set. */
export class RequestSeries {
  readonly #prefix: string;
  readonly #plain: (CodeSeries | undefined)[] = new Array(600);
  readonly #flagged = new Map<string, CodeSeries>();
  readonly #all: CodeSeries[];

  constructor(prefix: string, all: CodeSeries[]) {
    this.#prefix = prefix;
    this.#all = all;
  }

  record(code: number, flags: string, grpcStatus: string, ms: number, reqBytes: number, respBytes: number): void {
    let s: CodeSeries | undefined;
    if (flags === '-' && grpcStatus === '' && code >= 0 && code < 600) {
      s = this.#plain[code];
      if (s === undefined) s = this.#plain[code] = this.#make(code, flags, grpcStatus);
    } else {
      const key = `${code}|${flags}|${grpcStatus}`;
      s = this.#flagged.get(key);
      if (s === undefined) {
        s = this.#make(code, flags, grpcStatus);
        this.#flagged.set(key, s);
      }
    }
    s.total++;
    s.duration.observe(ms);
    s.requestBytes.observe(reqBytes);
    s.responseBytes.observe(respBytes);
  }

  #make(code: number, flags: string, grpcStatus: string): CodeSeries {
    const s = new CodeSeries(`${this.#prefix},response_code="${code}",grpc_response_status="${grpcStatus}",response_flags="${flags}"`);
    this.#all.push(s);
    return s;
  }
}

class TcpSeries {
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
  constructor(readonly labels: string) {}
}

export class IstioMetrics {
  readonly #requests = new Map<string, RequestSeries>();
  readonly #codeSeries: CodeSeries[] = [];
  readonly #tcp = new Map<string, TcpSeries>();

  /** Resolve at build time; the same labels give the same series across config swaps. */
  requestSeries(labels: LabelSet): RequestSeries {
    const prefix = labelText(labels);
    let s = this.#requests.get(prefix);
    if (!s) {
      s = new RequestSeries(prefix, this.#codeSeries);
      this.#requests.set(prefix, s);
    }
    return s;
  }

  tcpSeries(labels: LabelSet): TcpSeries {
    const text = labelText(labels);
    let s = this.#tcp.get(text);
    if (!s) {
      s = new TcpSeries(text);
      this.#tcp.set(text, s);
    }
    return s;
  }

  render(extra: string[] = []): string {
    const out: string[] = [];
    out.push('# HELP istio_requests_total Total requests.', '# TYPE istio_requests_total counter');
    for (const s of this.#codeSeries) out.push(`istio_requests_total{${s.labels}} ${s.total}`);
    const hist = (name: string, help: string, pick: (s: CodeSeries) => Histogram): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const s of this.#codeSeries) pick(s).render(out, name, s.labels);
    };
    hist('istio_request_duration_milliseconds', 'Request duration in milliseconds.', (s) => s.duration);
    hist('istio_request_bytes', 'Request size in bytes.', (s) => s.requestBytes);
    hist('istio_response_bytes', 'Response size in bytes.', (s) => s.responseBytes);
    const tcp = (name: string, help: string, pick: (s: TcpSeries) => number): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const s of this.#tcp.values()) out.push(`${name}{${s.labels}} ${pick(s)}`);
    };
    tcp('istio_tcp_sent_bytes_total', 'Bytes sent to the downstream during TCP connections.', (s) => s.sent);
    tcp('istio_tcp_received_bytes_total', 'Bytes received from the downstream during TCP connections.', (s) => s.received);
    tcp('istio_tcp_connections_opened_total', 'TCP connections opened.', (s) => s.opened);
    tcp('istio_tcp_connections_closed_total', 'TCP connections closed.', (s) => s.closed);
    out.push(...extra);
    return `${out.join('\n')}\n`;
  }
}

export type { TcpSeries };
