// index.d.ts: hand-written types of the `tideloop` package (both entries: the
// default/browser one and the Node one export the same names).
// tests/js/package.test.mjs checks this file against the real exports, and
// tests/bundlers/types.test.mjs compiles it under each lib setting users have.

/** A value that crosses between JS and C (src/backend/js/ABI.md "Values on the wire"). */
export type TideValue =
  | undefined
  | null
  | number
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | boolean
  | TideJson[]
  | { [key: string]: TideJson };

/** Anything JSON.stringify accepts. */
export type TideJson = null | boolean | number | string | TideJson[] | { [key: string]: TideJson };

/** What a value from C becomes in JS: NONE -> undefined, INT/DOUBLE -> number,
 * STRING -> string, BYTES -> Uint8Array, JSON -> the parsed value. */
export type TideResult = undefined | number | string | Uint8Array | TideJson;

/** A host function: the arguments C passed, then `{signal}`, aborted when C
 * cancels the operation. Sync or async. Its value completes the C future; a
 * thrown error completes it with `err.code` (a TIDE_E* name such as "ETIMEDOUT",
 * or its number; a TideError's errno; anything else is EHOST) and
 * `err.message`. */
export type HostFunction = (...args: any[]) => TideValue | void | PromiseLike<TideValue | void>;

/** The last argument every host function receives. */
export interface HostCallContext {
  signal: AbortSignal;
}

/** Source of a module for load(). The Node entry also takes a file path (a
 * string without a URL scheme) and file: URLs. */
export type ModuleSource =
  | ArrayBuffer
  | ArrayBufferView
  | WasmModule
  | Response
  | URL
  | string
  | PromiseLike<ArrayBuffer | ArrayBufferView | WasmModule | Response | URL | string>;

/** One piece of input for fd 0: bytes or UTF-8 text. From a function, null,
 * undefined or an empty chunk means end of input; in an iterable, empty chunks
 * are skipped and the iterable's end is the end of input. */
export type StdinChunk = string | Uint8Array | ArrayBuffer | ArrayBufferView | null | undefined;

/** What a C stream on fd 0 (tide_stream_open(loop, 0, ...)) reads on the JS host:
 * the whole input (a string or bytes), an (async) iterable of chunks, pulled
 * only while C waits for input, or a function called for each read with the
 * most bytes C wants (bytes beyond that are kept for the next reads) and the
 * host call's `{signal}`. */
export type StdinSource =
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | Iterable<StdinChunk>
  | AsyncIterable<StdinChunk>
  | ((max: number, context: HostCallContext) => StdinChunk | PromiseLike<StdinChunk>);

export interface LoadOptions {
  /** Receives each line C writes to stdout (without the newline): printf, and
   * C streams on fd 1. Default: console.log (Node: process.stdout; there C
   * streams write their exact bytes, and each write waits for Node to take
   * them). */
  stdout?: (line: string) => void;
  /** Receives each line C writes to stderr (printf, C streams on fd 2) and the
   * loop's error reports. Default: console.error (Node: process.stderr, as
   * stdout). */
  stderr?: (line: string) => void;
  /** What C streams on fd 0 read. Default: nothing, end of input at once
   * (Node: process.stdin, read only while C waits for input). null: nothing,
   * under Node too. */
  stdin?: StdinSource | null;
  /** The WASI argv (args_get); also main()'s default argv. Default: ["tideloop"]. */
  args?: string[];
  /** The WASI environment: an object or "KEY=value" strings. Default: empty. */
  env?: Record<string, string> | string[];
  /** The loop's clock (tide.h, "Virtual time"): 'real' (the default);
   * 'autojump', virtual time that jumps to the next timer whenever C has
   * nothing else to do and no host function is pending, so code full of
   * sleeps and timeouts runs at once; 'virtual', moved only by rt.advance(). */
  clock?: 'real' | 'virtual' | 'autojump';
  /** Aborting it stops the load: load() rejects with `signal.reason`, and a
   * runtime made meanwhile is closed. */
  signal?: AbortSignal;
}

export interface CallOptions {
  /** Aborting it cancels the C task; once the task has ended cancelled, the
   * promise rejects with `signal.reason` (an AbortError, or a TimeoutError
   * from AbortSignal.timeout(); unless the task handled the cancellation and
   * ended otherwise). */
  signal?: AbortSignal;
}

export interface MainOptions {
  /** Aborting it stops the program: the runtime closes (as close()) and
   * main() rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Counters, for tests and tuning. */
export interface RuntimeStats {
  /** ticks run (tide_js_tick or tide_js_tick_settle calls; one per scheduled tick). */
  ticks: number;
  /** host operations C started (tide_host_call). */
  hostCalls: number;
  /** completions delivered to C (tide_js_complete). */
  completions: number;
  /** exported coroutines called (rt.call). */
  calls: number;
  /** host timers armed (one per loop at a time). */
  timers: number;
}

/** One loaded module and the one C loop it runs. `rt[Symbol.dispose]()` (see
 * RuntimeDisposer, merged in below) is close() for `using`. */
export declare class Runtime {
  private constructor();
  /** Register (or replace) the host function `name`, called from C through
   * tide_host_call(). Returns the runtime. The runtime's own functions behind
   * C streams ("tideloop:fd_read", "tideloop:fd_write", "tideloop:fd_shutdown",
   * "tideloop:fd_close"; for every fd, sockets included) and, under Node, TCP
   * ("tideloop:tcp_*") can be overridden this way (src/backend/js/ABI.md): a registered
   * function wins. */
  register(name: string, fn: HostFunction): this;
  /** Remove host function `name`; true if it existed (a "tideloop:*"
   * built-in of the same name is used again). */
  unregister(name: string): boolean;
  /** Call the C coroutine exported under `name` (tide_export_task). Resolves with
   * its result, rejects with a TideError for its error (ENOENT: no such export). */
  call(name: string, args?: TideValue[], options?: CallOptions): Promise<TideResult>;
  /** Run the module's TIDE_MAIN setup with argv (argv[0] is the program name;
   * default: options.args); resolves with the exit code once the loop has no
   * referenced work left (1 if the setup failed; exit()'s status if C exited). */
  main(argv?: string[], options?: MainOptions): Promise<number>;
  /** Move a virtual clock (load({clock})) forward by ms; what becomes due runs
   * on the next tick. Throws TideError ESTATE on the real clock. */
  advance(ms: number): void;
  /** The loop's time in ms (tide_loop_now): the virtual clock's on one. */
  now(): number;
  /** Free the loop: pending calls and main() reject with ECANCELED, host
   * functions in flight see their signal abort, C tasks are cancelled. Returns 0,
   * TIDE_EBUSY (-3) if C work would not finish, or TIDE_ESTATE (-23) if called
   * from inside a C call (an output sink). Idempotent. The form that works
   * in every engine. */
  close(): number;
  /** True once close() was called. */
  readonly closed: boolean;
  readonly stats: RuntimeStats;
  /** WASI imports of the module that this host stubs (they return ENOSYS). */
  readonly unsupportedImports: string[];
  /** The status C passed to exit(), once it did. */
  readonly exitCode: number | undefined;
  /** @internal Raw wasm exports (tests and debugging only; no stability promise). */
  readonly _exports: WasmExports & Record<string, any>;
  /** @internal The C loop pointer, 0 once freed. */
  readonly _loop: number;
  /** @internal Test hook: called with (op id, name, args_len, shape) when C
   * starts a host operation, from inside the import (it must not call into
   * wasm). */
  _onHostCall:
    | ((op: number, name: string, argsLen: number, shape: number) => void)
    | undefined;
  /** @internal JS-side bookkeeping sizes, for leak tests. */
  readonly _pending: { ops: number; completions: number; calls: number };
  /** @internal The runtime's sockets (Node: listeners, connections C holds,
   * connections queued for an accept, connects in flight, sockets C closed
   * whose last bytes are still going out, bytes Node holds that C has not
   * read), for leak tests; null where there are none (the default entry). */
  readonly _net: {
    listeners: number;
    sockets: number;
    queued: number;
    connecting: number;
    flushing: number;
    buffered: number;
  } | null;
  /** @internal The runtime's datagram sockets (Node: sockets open and being
   * bound, datagrams queued for a receive, datagrams dropped at a full queue
   * since it started), for leak tests; null where there are none. */
  readonly _udp: { sockets: number; binding: number; queued: number; dropped: number } | null;
  /** @internal The runtime's children (Node: spawned and not yet reported to
   * C by a wait), for leak tests; null where there are none. */
  readonly _processes: { children: number } | null;
}

/* This file must compile in a strict project whatever its `lib`: ES2020 or
 * ES2022 with DOM (a browser project: no esnext.disposable, no @types/node),
 * ESNext, or Node's types (tests/bundlers/types.test.mjs checks each). So it
 * names no global that only some libs declare: */

/** The type of `Symbol.dispose` where the project's lib declares it (ES2025 or
 * ESNext, esnext.disposable, @types/node), else never. */
type DisposeSymbol = SymbolConstructor extends { readonly dispose: infer S extends symbol } ? S : never;

/** `rt[Symbol.dispose]()`: close(), for `using rt = await load(...)`. The
 * method exists in every engine (where Symbol.dispose is missing, the runtime
 * keys it by Symbol.for('Symbol.dispose'), where Babel's `using` looks), but
 * it is typed only where the lib has Symbol.dispose: there Runtime is a
 * `Disposable`; elsewhere this is `{}`. */
export type RuntimeDisposer = { [K in DisposeSymbol]: () => void };

export interface Runtime extends RuntimeDisposer {}

/** `WebAssembly.Module` where the lib declares WebAssembly (DOM, WebWorker),
 * else never: a Node project with @types/node and no DOM lib has no
 * WebAssembly types (@types/node declares none), and has no typed way to make
 * a Module either. */
type WasmModule = typeof globalThis extends {
  WebAssembly: { Module: abstract new (...args: any[]) => infer M };
} ? M : never;

/** `WebAssembly.Exports` where the lib declares it, else unknown. */
type WasmExports = typeof globalThis extends {
  WebAssembly: { Instance: abstract new (...args: any[]) => { readonly exports: infer E } };
} ? E : unknown;

/** ErrorOptions (`{cause}`, TideError's constructor) is lib ES2022's; this
 * shadows it with the same shape so that an ES2020 lib compiles too. */
interface ErrorOptions {
  cause?: unknown;
}

/** Load a tideloop module and make its loop. */
export declare function load(source: ModuleSource, options?: LoadOptions): Promise<Runtime>;

/** The names of the fixed error table (include/tide.h TIDE_ERRNO_MAP). */
export type TideErrorName =
  | 'EINVAL' | 'ENOMEM' | 'EBUSY' | 'ECANCELED' | 'ETIMEDOUT' | 'EALREADY'
  | 'EPENDING' | 'ENOENT' | 'EEXIST' | 'EAGAIN' | 'EBADF' | 'EIO' | 'ENOSYS'
  | 'EPIPE' | 'ECONNRESET' | 'ECONNREFUSED' | 'EADDRINUSE' | 'ENOTCONN'
  | 'EACCES' | 'ERANGE' | 'EOF' | 'ECLOSED' | 'ESTATE' | 'EHOST' | 'EINTR'
  | 'ENOSPC' | 'EMSGSIZE' | 'ENETUNREACH' | 'EHOSTUNREACH' | 'EADDRNOTAVAIL'
  | 'EUNKNOWN' | 'EMFILE' | 'ENOTFOUND' | 'ENOTSOCK' | 'ESRCH' | 'ENOEXEC';

/** An error from C, shaped as Node's system errors: `name` "TideError",
 * `code` the TIDE_E* name ("ECANCELED"), `errno` its number (-4, the same on
 * every host; compare it with `errors.ECANCELED`), and the standard `cause`. */
export declare class TideError extends Error {
  /** `codeOrName`: a TIDE_E* number or name; the message defaults to the
   * table's text. */
  constructor(codeOrName: number | TideErrorName, message?: string, options?: ErrorOptions);
  name: 'TideError';
  code: TideErrorName;
  errno: number;
}

/** Thrown when C calls exit(): `code` is the status. The runtime is finished. */
export declare class TideExit extends Error {
  constructor(code: number);
  code: number;
}

/** TIDE_E* name -> number, e.g. errors.ECANCELED === -4. */
export declare const errors: Readonly<Record<TideErrorName, number>>;
/** The whole table, [name, code, message] rows in code order. */
export declare const errorTable: ReadonlyArray<readonly [TideErrorName, number, string]>;
/** "EINVAL" for -1; "EUNKNOWN" outside the table (as tide_err_name). */
export declare function errorName(code: number): TideErrorName;
/** The table's message; "unknown error" outside it (as tide_strerror). */
export declare function strerror(code: number): string;
/** The TIDE_E* code for an error a host threw, wherever its runtime put the
 * code: `err.code` (Node's system errors, Bun), else `err.cause.code` (fetch()
 * under Node and Deno), else an AggregateError's last error's; host aliases
 * map too ('UND_ERR_SOCKET', 'ConnectionRefused', 'EAI_AGAIN', ...). No code
 * that means an entry: `fallback` (default errors.EHOST). */
export declare function errorCodeOf(err: unknown, fallback?: number): number;

/* Only what is marked `export` above is the package's (without this, every
 * top-level declaration of a .d.ts module is exported, helpers included). */
export {};
