// The one way the dashboard talks to keyart: the public GraphQL API at /graphql, with the
// same API keys partners use (sent as a Bearer token when the user entered one).
import { ClientError, GraphQLClient } from "graphql-request";

const KEY_STORAGE = "keyart.apiKey";

export interface Warning {
  code: string;
  message: string;
}

export interface Answer<T> {
  data: T;
  warnings: Warning[];
}

/** Why a request failed, in words a user can act on. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly needsKey: boolean,
  ) {
    super(message);
  }
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function client(): GraphQLClient {
  const key = apiKey();
  return new GraphQLClient(new URL("/graphql", window.location.origin).toString(), {
    headers: key ? { Authorization: `Bearer ${key}` } : {},
  });
}

/** Run one GraphQL operation; its data and the response's extensions.warnings. */
export async function query<T>(document: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  try {
    const response = await client().rawRequest<T>(document, variables);
    const extensions = response.extensions as { warnings?: Warning[] } | undefined;
    return { data: response.data, warnings: extensions?.warnings ?? [] };
  } catch (error) {
    throw explain(error);
  }
}

function explain(error: unknown): ApiError {
  if (error instanceof ClientError) {
    const status = error.response.status;
    const first = error.response.errors?.[0];
    const code = (first?.extensions as { code?: string } | undefined)?.code;
    if (status === 401 || code === "UNAUTHENTICATED") {
      return new ApiError(
        apiKey()
          ? "The API key was refused. Enter a valid key (ask an admin for one: keyart keys create)."
          : "This server needs an API key. Enter one below (an admin creates it with keyart keys create).",
        true,
      );
    }
    if (code === "FORBIDDEN") {
      return new ApiError(
        apiKey()
          ? "This needs an admin API key, and the key in use is not one. Enter an admin key (keyart keys create --scope admin)."
          : "This needs an admin API key, and none is entered. Enter one below (keyart keys create --scope admin).",
        true,
      );
    }
    if (status === 429) return new ApiError("Too many requests: wait a moment, then retry.", false);
    if (first) return new ApiError(first.message, false);
    return new ApiError(`The server answered ${status}. Retry, or check the server's log.`, false);
  }
  return new ApiError("The server could not be reached. Check that keyart serve is running, then retry.", false);
}
