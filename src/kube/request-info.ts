// What a request to the API server asks for, read from its method and URL the
// way the API server's own RequestInfoResolver reads it. Errors use it to say
// exactly which permission was missing, without parsing message text.

export interface RequestInfo {
  /** RBAC verb: get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb: string;
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export function requestInfo(method: string, url: string): RequestInfo | undefined {
  const split = splitUrl(url);
  if (split === undefined) return undefined;
  const { pathname, query } = split;
  const parts = pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] !== undefined) {
    group = '';
    rest = parts.slice(1);
  } else if (parts[0] === 'apis' && parts[1] !== undefined && parts[2] !== undefined) {
    group = parts[1];
    rest = parts.slice(2);
  } else {
    return undefined;
  }
  const [version = '', ...path] = rest;
  let namespace: string | undefined;
  if (path[0] === 'namespaces' && path.length >= 3) {
    namespace = path[1];
    path.splice(0, 2);
  }
  const [resource, name, subresource] = path;
  if (resource === undefined) return undefined;
  const watch = WATCH.test(query);
  const verb = verbFor(method.toUpperCase(), name !== undefined, watch);
  return {
    verb,
    group,
    version,
    resource,
    ...(subresource !== undefined ? { subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

/**
 * The path and query of an absolute URL (or of a path), by string slicing
 * rather than new URL(): this runs for every request kjd sends, and a WHATWG
 * parse per create showed in the burst's CPU profile.
 */
function splitUrl(url: string): { pathname: string; query: string } | undefined {
  const scheme = url.indexOf('://');
  const pathStart = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  if (pathStart < 0) return undefined;
  const queryStart = url.indexOf('?', pathStart);
  return queryStart < 0
    ? { pathname: url.slice(pathStart), query: '' }
    : { pathname: url.slice(pathStart, queryStart), query: url.slice(queryStart + 1) };
}

const WATCH = /(?:^|&)watch=(?:true|1)(?:&|#|$)/;

function verbFor(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** `jobs` or `pods/log`: the resource as RBAC rules spell it. */
export function ruleResource(info: RequestInfo): string {
  return info.subresource === undefined ? info.resource : `${info.resource}/${info.subresource}`;
}
