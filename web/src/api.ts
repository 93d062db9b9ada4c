// The page's only way to the server: the /v1 API with the token as a Bearer
// header (never in a URL), and typed failures.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}` };
  }

  async raw(method: string, path: string, signal?: AbortSignal): Promise<Response> {
    const res = await fetch(path, { method, headers: this.headers(), ...(signal ? { signal } : {}) });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiError(res.status, body.error?.code ?? 'HTTP_ERROR', body.error?.message ?? res.statusText);
    }
    return res;
  }

  async json<T>(method: string, path: string, signal?: AbortSignal): Promise<T> {
    return (await (await this.raw(method, path, signal)).json()) as T;
  }
}
