/**
 * One error type for all of meshbox, with stable codes (fastify's catalog, undici's brand).
 *
 * Each subsystem keeps its own catalog (`src/<subsystem>/errors.ts`) built with `defineError`.
 * Callers branch on `code`, never on message text. Edges (API server, CLI, proxy rescue, CNI)
 * classify errors with `findCause`, walking the ES2022 `cause` chain.
 */

const BRAND = Symbol.for('meshbox.error');

export interface MeshboxErrorOptions {
  cause?: unknown;
  /** true when trying the same thing again later may succeed (CNI code 11, store busy, ...) */
  retryable?: boolean;
  /** status to use when this error reaches an HTTP edge */
  httpStatus?: number;
  /** extra machine-readable facts (file, line, plugin name, ...) */
  details?: Record<string, unknown>;
}

export class MeshboxError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: MeshboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshboxError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.httpStatus = options.httpStatus ?? 500;
    this.details = options.details;
  }

  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Every code defined through `defineError`, for the catalog test against docs/errors.md. */
export const ERROR_CATALOG = new Map<string, { httpStatus: number; retryable: boolean; template: string }>();

export interface ErrorFactory<A extends unknown[]> {
  (...args: [...A, MeshboxErrorOptions?]): MeshboxError;
  readonly code: string;
  /** true when `err` or anything in its cause chain carries this code */
  is(err: unknown): err is MeshboxError;
}

/**
 * Defines a coded error. `message` builds the text from the arguments.
 *   export const PluginNotFound = defineError('MBX_CNI_PLUGIN_NOT_FOUND', (name: string) => `...${name}`);
 *   throw PluginNotFound('bridge', { cause: err });
 */
export function defineError<A extends unknown[]>(
  code: string,
  message: (...args: A) => string,
  defaults: { httpStatus?: number; retryable?: boolean } = {},
): ErrorFactory<A> {
  if (!/^MBX_[A-Z0-9_]+$/.test(code)) throw new Error(`invalid error code ${code}`);
  if (ERROR_CATALOG.has(code)) throw new Error(`error code ${code} defined twice`);
  ERROR_CATALOG.set(code, {
    httpStatus: defaults.httpStatus ?? 500,
    retryable: defaults.retryable ?? false,
    template: message.toString(),
  });
  const arity = message.length;
  const factory = (...args: unknown[]): MeshboxError => {
    let options: MeshboxErrorOptions = {};
    if (args.length > arity) options = (args.pop() as MeshboxErrorOptions | undefined) ?? {};
    return new MeshboxError(code, message(...(args as A)), {
      httpStatus: defaults.httpStatus,
      retryable: defaults.retryable,
      ...options,
    });
  };
  Object.defineProperty(factory, 'code', { value: code });
  Object.defineProperty(factory, 'is', { value: (err: unknown) => findCause(err, code) !== undefined });
  return factory as unknown as ErrorFactory<A>;
}

/** Walks `err` and its `cause` chain; returns the first MeshboxError with `code` (linkerd's is_caused_by). */
export function findCause(err: unknown, code: string): MeshboxError | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof MeshboxError && current.code === code) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The first MeshboxError in the chain, if any. */
export function firstMeshboxError(err: unknown): MeshboxError | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof MeshboxError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A readable one-line message including causes: "a: b: c". */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const msg = current instanceof Error ? current.message : String(current);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}
